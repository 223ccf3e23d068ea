"""The HTTP face of the incident tracker (Sanic), its settings and its command line."""
