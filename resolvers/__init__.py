"""The work behind each field and mutation: domain services and DataLoaders."""
