"""The hostile corpus: every HTTP entry point fed at least 200 hostile inputs (issue [9])."""
