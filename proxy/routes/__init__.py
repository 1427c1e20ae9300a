"""One module per resource; each exposes `routes`, a RouteTableDef added by create_app."""
