"""Tenancy: tenant-bound sessions, the ORM tenant filter, RLS settings, provisioning."""
