"""Storage: tables, migrations, engine, repositories and the unit of work."""
