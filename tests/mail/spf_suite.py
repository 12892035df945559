#!/usr/bin/python3
"""spf_suite.py - the RFC 7208 SPF test suite (YAML) as JSON for test_spf.c.

Usage: spf_suite.py SUITE.yml OUT.json

Run at build time (tests/mail/meson.build) with /usr/bin/python3, which
has Debian's python3-yaml. The zone data is copied faithfully, in order;
test_spf.c applies the reference driver's rules to it (SPF copied to TXT,
TIMEOUT, CNAME, ...), see its header comment.

Output:
  {"count": N, "scenarios": [{"description": str,
      "zone": {name: [entry, ...]},
      "tests": [{"id", "helo", "host", "mailfrom", "result": [str, ...],
                 "explanation": str (optional)}]}]}
  entry: {"type": "TXT"|"SPF", "strings": [str, ...]}  (one record)
         {"type": "TXT"|"SPF", "none": true}           (the word NONE)
         {"type": "MX", "pref": int, "host": str}
         {"type": "A"|"AAAA"|"PTR"|"CNAME", "value": str}
         {"type": "TIMEOUT"}

If the suite or python3-yaml is missing, the output is {"error": why}, so
the unit test fails and says why instead of being skipped or breaking the
whole build.
"""
import json
import sys


def entry(item):
    if item == 'TIMEOUT':
        return {'type': 'TIMEOUT'}
    (rtype, value), = item.items()
    if rtype in ('TXT', 'SPF'):
        if value == 'NONE':
            return {'type': rtype, 'none': True}
        strings = [value] if isinstance(value, str) else list(value)
        return {'type': rtype, 'strings': [str(s) for s in strings]}
    if rtype == 'MX':
        return {'type': 'MX', 'pref': int(value[0]), 'host': str(value[1])}
    if rtype in ('A', 'AAAA', 'PTR', 'CNAME'):
        return {'type': rtype, 'value': str(value)}
    raise ValueError('unknown record type %r' % rtype)


def test(tid, data):
    result = data['result']
    out = {
        'id': str(tid),
        'helo': str(data['helo']),
        'host': str(data['host']),
        'mailfrom': str(data['mailfrom']),
        'result': [result] if isinstance(result, str) else list(result),
    }
    if 'explanation' in data:
        out['explanation'] = str(data['explanation'])
    return out


def convert(path):
    import yaml
    scenarios = []
    with open(path, 'rb') as f:
        for doc in yaml.safe_load_all(f):
            zone = {str(name): [entry(i) for i in (items or [])]
                    for name, items in doc['zonedata'].items()}
            tests = [test(t, d) for t, d in doc['tests'].items()]
            scenarios.append({'description': doc['description'],
                              'zone': zone, 'tests': tests})
    count = sum(len(s['tests']) for s in scenarios)
    return {'count': count, 'scenarios': scenarios}


def main():
    if len(sys.argv) != 3:
        sys.exit('usage: spf_suite.py SUITE.yml OUT.json')
    try:
        out = convert(sys.argv[1])
    except ImportError as e:
        out = {'error': 'python3-yaml is needed to read the suite: %s' % e}
    except OSError as e:
        out = {'error': 'cannot read the SPF suite: %s' % e}
    with open(sys.argv[2], 'w') as f:
        json.dump(out, f, indent=0)
    if 'error' in out:
        print('spf_suite.py: ' + out['error'], file=sys.stderr)


if __name__ == '__main__':
    main()
