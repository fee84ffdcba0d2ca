"""Operator tools: tenant provisioning and lifecycle (``tenants``), key rotation (``rotate``) and the
schema's breaking-change check (``schema_compat``)."""
