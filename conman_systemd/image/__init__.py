"""Images: references, the content-addressed store, layers, transports."""
