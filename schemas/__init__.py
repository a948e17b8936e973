"""Declarations only: column vocabularies, pandera models and the reason-code enum.

Nothing here reads files or executes rules; `transform/` does that.
"""
