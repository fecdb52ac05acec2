"""The database: engine, tables, migrations, the store and its way of committing."""
