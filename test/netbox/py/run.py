# Runs a pynetbox snippet for a test (test/netbox/pynetbox.ts) and prints one
# JSON document on stdout: {"ok": true, "result": ...} or {"ok": false,
# "error": {...}}. The request comes as JSON on stdin:
#   url    the base URL pynetbox is given (pynetbox appends /api itself)
#   token  the API token (v1 as is; v2 as nbt_<key>.<secret>)
#   code   Python statements run with `nb` (a pynetbox.api), `args`, `url`,
#          `token` and `pynetbox` in scope (to build another api, say with
#          pagination='cursor'); they leave their answer in `result`
#   args   any JSON value, passed to the snippet as `args`
import json
import sys
import traceback

import pynetbox


def _jsonable(value):
    """pynetbox Records and RecordSets become plain JSON (Record.serialize())."""
    if isinstance(value, pynetbox.core.response.Record):
        return dict(value)
    if isinstance(value, (list, tuple, pynetbox.core.response.RecordSet)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def main():
    request = json.load(sys.stdin)
    nb = pynetbox.api(request['url'], token=request['token'])
    scope = {
        'nb': nb, 'args': request.get('args'), 'url': request['url'], 'token': request['token'],
        'pynetbox': pynetbox, 'result': None,
    }
    try:
        exec(compile(request['code'], '<snippet>', 'exec'), scope)
        out = {'ok': True, 'result': _jsonable(scope['result'])}
    except pynetbox.RequestError as err:
        # What a client sees of a refused write: the status, NetBox's (or the
        # gateway's) body, and the URL pynetbox actually called.
        out = {'ok': False, 'error': {
            'type': 'RequestError',
            'status': err.req.status_code,
            'method': err.req.request.method,
            'url': err.req.url,
            'body': err.req.text,
            'message': str(err.error),
        }}
    except Exception as err:  # anything else is a bug in the snippet or the setup: keep the traceback
        out = {'ok': False, 'error': {
            'type': type(err).__name__,
            'message': str(err),
            'traceback': traceback.format_exc(),
        }}
    json.dump(out, sys.stdout, default=str)


main()
