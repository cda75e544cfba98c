# Tests the rows of rows_guest.py run: a guest that tries to forge its result.
