"""Reports over any period (timeliness, quality, outcomes, dynamics, top, moderation): figures are
pure functions of facts read in one place (`queries`), rendered as JSON, CSV, XLSX or HTML."""
