"""The web application: server-rendered pages for the region's staff."""
