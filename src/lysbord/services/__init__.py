"""Use cases: each public function runs one unit of work and commits it."""
