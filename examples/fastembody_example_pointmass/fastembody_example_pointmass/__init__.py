"""A minimal third-party FastEmbody env plugin (see docs/plugins.md)."""
