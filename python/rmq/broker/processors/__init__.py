"""Request handlers, one module per request family (Java: ``broker.processor``)."""
