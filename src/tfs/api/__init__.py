"""The HTTP edge: app factory, authentication, routes, rendering."""
