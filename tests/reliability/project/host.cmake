# Tests the rows of rows_host.py run: a guest that tries to reach the host.
