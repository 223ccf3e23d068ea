"""Read models built from the event stream, updated exactly once, rebuildable by replay."""
