"""Course volumes: naming (pure) and the engine layer (Docker SDK, imported lazily)."""
