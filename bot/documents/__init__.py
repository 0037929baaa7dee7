"""Documents the office files: Word (.docx) laid out as government documents (公文)."""
