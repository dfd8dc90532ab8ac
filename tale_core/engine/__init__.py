"""The engine: one model call, methods and their prompts, budgets, the grid runner."""
