"""Lysbord: a regional radiology information system and image archive (RIS/PACS)."""

__version__ = "0.1.0"
