"""The catalog half of TFS: programs' reward catalogs, imported whole and read by customers."""
