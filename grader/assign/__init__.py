"""From the instructor's solution notebooks: item specs, answer keys, student stubs."""
