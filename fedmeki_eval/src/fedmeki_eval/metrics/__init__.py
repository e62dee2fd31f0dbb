"""Pure metric functions of the scorer: ``binary`` (yes/no tasks) and ``generation`` (free-text answers)."""
