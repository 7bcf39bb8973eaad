"""Storage: the pool, error translation, migrations and one module of SQL per resource."""
