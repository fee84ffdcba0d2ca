"""GraphQL types, inputs, errors and the assembled strawberry Schema."""
