"""One RouteTableDef per resource; thin handlers: parse -> db -> respond."""
