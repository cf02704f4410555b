"""Cells that flood each channel from a sandboxed kernel to the grader, past the kernel's own
output cap (a fresh `Session` class sends whatever it is given). Each is sized so that a grader
which kept what it receives would hold over a gigabyte; used by corpus.py and test_channel_bounds.py.
"""

SESSION = (
    "import importlib, jupyter_client.session as s\n"
    "fresh = importlib.reload(s)\n"
    "k = get_ipython().kernel\n"
    "session = fresh.Session(key=k.session.key, signature_scheme=k.session.signature_scheme, session=k.session.session)\n"
    "parent = k.get_parent()\n"
    "ident = parent['header']['session'].encode()  # the grader's sockets' identity\n"
)

# input requests nobody reads: 12 x 100 MB
STDIN = SESSION + (
    "big = 'i' * 100_000_000\n"
    "for _ in range(12):\n"
    "    session.send(k.stdin_socket, 'input_request', {'prompt': big, 'password': False}, parent=parent, ident=ident)\n"
    "print('STDIN SENT')"
)

# replies nobody asked for, on the shell and control channels: 6 x 100 MB each
SHELL_CONTROL = SESSION + (
    "big = 'r' * 100_000_000\n"
    "for stream in (k.shell_stream, k.control_stream):\n"
    "    for _ in range(6):\n"
    "        session.send(stream.socket, 'execute_reply', {'status': 'ok', 'junk': big}, parent=parent, ident=ident)\n"
    "print('REPLIES SENT')"
)

# widget state: 200 comm messages of 6 MB, each under the 8 MB cap
COMMS = SESSION + (
    "state = 'w' * 6_000_000\n"
    "for i in range(200):\n"
    "    session.send(k.iopub_socket, 'comm_msg', {'comm_id': f'w{i}', 'data': {'method': 'update', 'state': {'value': state},"
    " 'buffer_paths': []}}, parent=parent)\n"
    "print('COMMS SENT')"
)

# outputs replaced through display ids: 300 small outputs, then 5 MB updates of each
DISPLAY_UPDATES = SESSION + (
    "for i in range(300):\n"
    "    session.send(k.iopub_socket, 'display_data', {'data': {'text/plain': 'd'}, 'metadata': {},"
    " 'transient': {'display_id': f'd{i}'}}, parent=parent)\n"
    "big = 'u' * 5_000_000\n"
    "for i in range(300):\n"
    "    session.send(k.iopub_socket, 'update_display_data', {'data': {'text/plain': big}, 'metadata': {},"
    " 'transient': {'display_id': f'd{i}'}}, parent=parent)\n"
    "print('UPDATES SENT')"
)

ALL = {"stdin": STDIN, "shell-control": SHELL_CONTROL, "comms": COMMS, "display-updates": DISPLAY_UPDATES}
