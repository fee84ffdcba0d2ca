"""Authorization: the Casbin model and default policies, the per-tenant decision table, the actor,
and the SQL filters that conditions compile to."""
