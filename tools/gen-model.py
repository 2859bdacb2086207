#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# gen-model.py: generates fhir/charta-model-data.c, the FHIR R4 model as static C tables, from
# the official R4 definitions.
#
#   python3 tools/gen-model.py ../shared/corpus/r4-definitions fhir/charta-model-data.c
#
# The definitions folder is scanned recursively for JSON files and every resource is sorted by
# its resourceType (Bundles are opened), so both the corpus layout (structure/, compartments/,
# search-parameters.json, valuesets.json) and an unpacked hl7.fhir.r4.core 4.0.1 package
# (package/StructureDefinition-Patient.json, SearchParameter-*.json, …) work.  Only
# specialisations of kind primitive-type, complex-type and resource become types; profiles
# (derivation = constraint) and logical models are skipped.  Resource and Element, which the
# corpus lacks, are rebuilt from DomainResource and BackboneElement when absent.
#
# The output is deterministic (everything sorted), so regenerating from the same definitions
# gives the same bytes; tests/fhir/test-model.c checks that.  Standard library only.

import json
import os
import re
import sys

FHIR_TYPE_EXT = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type'
REGEX_EXT = 'http://hl7.org/fhir/StructureDefinition/regex'
SD_PREFIX = 'http://hl7.org/fhir/StructureDefinition/'

SYSTEM_TYPES = {
    'http://hl7.org/fhirpath/System.String': 'string',
    'http://hl7.org/fhirpath/System.Boolean': 'boolean',
    'http://hl7.org/fhirpath/System.Integer': 'integer',
    'http://hl7.org/fhirpath/System.Decimal': 'decimal',
    'http://hl7.org/fhirpath/System.Date': 'date',
    'http://hl7.org/fhirpath/System.DateTime': 'dateTime',
    'http://hl7.org/fhirpath/System.Time': 'time',
}

ALWAYS_ABSTRACT = {'Resource', 'DomainResource', 'Element', 'BackboneElement'}

KIND_C = {
    'primitive-type': 'CHARTA_TYPE_KIND_PRIMITIVE',
    'complex-type': 'CHARTA_TYPE_KIND_COMPLEX',
    'resource': 'CHARTA_TYPE_KIND_RESOURCE',
    'backbone': 'CHARTA_TYPE_KIND_BACKBONE',
}

SEARCH_TYPE_C = {
    'number': 'CHARTA_SEARCH_TYPE_NUMBER',
    'date': 'CHARTA_SEARCH_TYPE_DATE',
    'string': 'CHARTA_SEARCH_TYPE_STRING',
    'token': 'CHARTA_SEARCH_TYPE_TOKEN',
    'reference': 'CHARTA_SEARCH_TYPE_REFERENCE',
    'composite': 'CHARTA_SEARCH_TYPE_COMPOSITE',
    'quantity': 'CHARTA_SEARCH_TYPE_QUANTITY',
    'uri': 'CHARTA_SEARCH_TYPE_URI',
    'special': 'CHARTA_SEARCH_TYPE_SPECIAL',
}

# Limits of the index fields in charta-model.h; the generator fails rather than truncates.
U16_MAX = 0xffff
I16_MAX = 0x7fff


def die(msg):
    sys.stderr.write('gen-model.py: error: %s\n' % msg)
    sys.exit(1)


def warn(msg):
    sys.stderr.write('gen-model.py: %s\n' % msg)


def check_u16(value, what):
    if value > U16_MAX:
        die('%s = %d overflows uint16_t; widen the field in fhir/charta-model.h' % (what, value))
    return value


def check_i16(value, what):
    if value > I16_MAX:
        die('%s = %d overflows int16_t; widen the field in fhir/charta-model.h' % (what, value))
    return value


# ---------------------------------------------------------------------------------------------
# Loading


class Definitions:
    def __init__(self):
        self.structures = {}      # url -> StructureDefinition
        self.search_params = {}   # url -> SearchParameter
        self.value_sets = {}      # url -> ValueSet
        self.code_systems = {}    # url -> CodeSystem
        self.compartments = {}    # url -> CompartmentDefinition

    def add(self, res):
        rt = res.get('resourceType')
        if rt == 'Bundle':
            for entry in res.get('entry', []):
                if 'resource' in entry:
                    self.add(entry['resource'])
            return
        table = {
            'StructureDefinition': self.structures,
            'SearchParameter': self.search_params,
            'ValueSet': self.value_sets,
            'CodeSystem': self.code_systems,
            'CompartmentDefinition': self.compartments,
        }.get(rt)
        if table is None:
            return
        url = res.get('url')
        if not url:
            return
        # The first definition of a URL wins; files are read in sorted order.
        if url not in table:
            table[url] = res


def load_definitions(folder):
    defs = Definitions()
    paths = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in files:
            if name.endswith('.json'):
                paths.append(os.path.join(root, name))
    paths.sort()
    for path in paths:
        try:
            with open(path, encoding='utf-8') as f:
                res = json.load(f)
        except (OSError, ValueError) as e:
            warn('skipping %s: %s' % (path, e))
            continue
        if isinstance(res, dict):
            defs.add(res)
    return defs


# ---------------------------------------------------------------------------------------------
# Types and elements


def strip_version(url):
    return url.split('|', 1)[0] if url else url


def type_name_from_url(url):
    url = strip_version(url)
    if url.startswith(SD_PREFIX):
        return url[len(SD_PREFIX):]
    return url.rsplit('/', 1)[-1]


def synthesize(defs, name, from_name, base_prefix, abstract):
    """Rebuilds the Resource or Element StructureDefinition from a child's snapshot."""
    src = None
    for sd in defs.structures.values():
        if sd.get('type') == from_name and sd.get('derivation') == 'specialization':
            src = sd
            break
    if src is None:
        die('neither %s nor %s is defined' % (name, from_name))
    elements = []
    root = dict(src['snapshot']['element'][0])
    root['path'] = name
    root['id'] = name
    root['constraint'] = [c for c in root.get('constraint', [])
                          if c.get('source') == SD_PREFIX + name]
    elements.append(root)
    for e in src['snapshot']['element'][1:]:
        if e.get('base', {}).get('path', '').startswith(base_prefix):
            e = dict(e)
            e['path'] = e['base']['path']
            e['id'] = e['path']
            elements.append(e)
    kind = 'resource' if name == 'Resource' else 'complex-type'
    return {
        'resourceType': 'StructureDefinition',
        'url': SD_PREFIX + name,
        'name': name,
        'type': name,
        'kind': kind,
        'abstract': abstract,
        'derivation': 'specialization',
        'snapshot': {'element': elements},
    }


class TypeInfo:
    def __init__(self, name, url, kind, abstract, base_name):
        self.name = name
        self.url = url
        self.kind = kind
        self.abstract = abstract
        self.base_name = base_name
        self.elements = []        # element dicts (direct children)
        self.root = None          # the root element definition
        self.regex = None


def element_type_code(t):
    code = t.get('code')
    if code and code.startswith('http://hl7.org/fhirpath/System.'):
        for ext in t.get('extension', []):
            if ext.get('url') == FHIR_TYPE_EXT:
                return ext.get('valueUrl') or ext.get('valueUri')
        if code in SYSTEM_TYPES:
            return SYSTEM_TYPES[code]
        die('no FHIR type for %s' % code)
    return code


def type_regex(t):
    for ext in t.get('extension', []):
        if ext.get('url') == REGEX_EXT:
            return ext.get('valueString')
    return None


def build_types(defs):
    sds = {}
    for url, sd in defs.structures.items():
        if sd.get('derivation') != 'specialization':
            continue
        if sd.get('kind') not in ('primitive-type', 'complex-type', 'resource'):
            continue
        if 'snapshot' not in sd:
            continue
        name = sd['type']
        if name in sds:
            die('type %s defined twice' % name)
        sds[name] = sd
    if 'Resource' not in sds:
        sds['Resource'] = synthesize(defs, 'Resource', 'DomainResource', 'Resource.', True)
    if 'Element' not in sds:
        sds['Element'] = synthesize(defs, 'Element', 'BackboneElement', 'Element.', True)

    types = {}
    for name, sd in sds.items():
        base = sd.get('baseDefinition')
        base_name = type_name_from_url(base) if base else None
        abstract = bool(sd.get('abstract')) or name in ALWAYS_ABSTRACT
        ti = TypeInfo(name, sd['url'], sd['kind'], abstract, base_name)
        types[name] = ti
        elements = sd['snapshot']['element']
        if elements[0]['path'] != name:
            die('%s: first snapshot element is %s' % (name, elements[0]['path']))
        ti.root = elements[0]
        # Group the snapshot by parent path.
        children = {}
        for e in elements[1:]:
            path = e['path']
            parent = path.rsplit('.', 1)[0]
            children.setdefault(parent, []).append(e)
        by_path = {e['path']: e for e in elements}
        ti.elements = children.get(name, [])
        if sd['kind'] == 'primitive-type':
            for e in ti.elements:
                if e['path'] == name + '.value':
                    for t in e.get('type', []):
                        r = type_regex(t)
                        if r:
                            ti.regex = r
        # Backbone types: every element with children.
        for path, kids in children.items():
            if path == name:
                continue
            e = by_path.get(path)
            if e is None:
                die('%s: children of unknown element %s' % (name, path))
            codes = [t.get('code') for t in e.get('type', [])]
            if codes not in (['BackboneElement'], ['Element']):
                die('%s: element %s has children but type %s' % (name, path, codes))
            bb = TypeInfo(path, None, 'backbone', False, codes[0])
            bb.root = e
            bb.elements = kids
            if path in types:
                die('backbone %s clashes with a type' % path)
            types[path] = bb
    return types


# ---------------------------------------------------------------------------------------------
# Value sets


class CodeSystemIndex:
    def __init__(self, cs):
        self.cs = cs
        self.url = cs['url']
        self.complete = cs.get('content', 'complete') == 'complete'
        self.codes = []           # in definition order
        self.children = {}        # code -> [child codes]
        self.selectable = {}      # code -> bool
        self.walk(cs.get('concept', []), None)
        # Hierarchies given by properties rather than nesting.
        for c in self.all_concepts(cs.get('concept', [])):
            for p in c.get('property', []):
                if p.get('code') in ('parent', 'subsumedBy') and 'valueCode' in p:
                    self.children.setdefault(p['valueCode'], []).append(c['code'])

    def all_concepts(self, concepts):
        for c in concepts:
            yield c
            yield from self.all_concepts(c.get('concept', []))

    def walk(self, concepts, parent):
        for c in concepts:
            code = c['code']
            if code not in self.selectable:
                self.codes.append(code)
            sel = True
            for p in c.get('property', []):
                if p.get('code') in ('notSelectable', 'abstract') and p.get('valueBoolean'):
                    sel = False
            self.selectable[code] = sel
            if parent is not None:
                self.children.setdefault(parent, []).append(code)
            self.walk(c.get('concept', []), code)

    def descendants(self, code):
        out = []
        seen = set()
        stack = list(reversed(self.children.get(code, [])))
        while stack:
            c = stack.pop()
            if c in seen:
                continue
            seen.add(c)
            out.append(c)
            stack.extend(reversed(self.children.get(c, [])))
        return out


class ValueSetExpander:
    def __init__(self, defs):
        self.defs = defs
        self.cs_index = {}
        self.cache = {}
        self.in_progress = set()

    def code_system(self, url):
        if url not in self.cs_index:
            cs = self.defs.code_systems.get(url)
            self.cs_index[url] = CodeSystemIndex(cs) if cs else None
        return self.cs_index[url]

    def expand(self, url):
        """Returns (codes, complete): codes is a list of (system, code), in order, unique."""
        if url in self.cache:
            return self.cache[url]
        if url in self.in_progress:
            warn('value set import cycle at %s' % url)
            return [], False
        vs = self.defs.value_sets.get(url)
        if vs is None:
            result = ([], False)
            self.cache[url] = result
            return result
        self.in_progress.add(url)
        complete = True
        codes = []
        seen = set()
        compose = vs.get('compose')
        if compose is None:
            expansion = vs.get('expansion', {})
            for c in expansion.get('contains', []):
                key = (c.get('system'), c.get('code'))
                if key not in seen:
                    seen.add(key)
                    codes.append(key)
            if not expansion:
                complete = False
        else:
            for inc in compose.get('include', []):
                part, ok = self.expand_include(inc)
                complete = complete and ok
                for key in part:
                    if key not in seen:
                        seen.add(key)
                        codes.append(key)
            excluded = set()
            for exc in compose.get('exclude', []):
                part, ok = self.expand_include(exc)
                complete = complete and ok
                excluded.update(part)
            codes = [k for k in codes if k not in excluded]
        self.in_progress.discard(url)
        result = (codes, complete)
        self.cache[url] = result
        return result

    def expand_include(self, inc):
        complete = True
        sets = []
        system = inc.get('system')
        if system:
            part, ok = self.expand_system(system, inc)
            complete = complete and ok
            sets.append(part)
        for vs_url in inc.get('valueSet', []):
            part, ok = self.expand(strip_version(vs_url))
            complete = complete and ok
            sets.append(part)
        if not sets:
            return [], False
        result = sets[0]
        for other in sets[1:]:
            keep = set(other)
            result = [k for k in result if k in keep]
        return result, complete

    def expand_system(self, system, inc):
        concepts = inc.get('concept')
        filters = inc.get('filter')
        if concepts and not filters:
            return [(system, c['code']) for c in concepts], True
        cs = self.code_system(system)
        if cs is None or not cs.complete:
            return [], False
        if concepts:
            candidates = [c['code'] for c in concepts]
        else:
            candidates = [c for c in cs.codes if cs.selectable.get(c, True)]
        complete = True
        for flt in filters or []:
            op = flt.get('op')
            prop = flt.get('property')
            value = flt.get('value')
            if prop == 'concept' and op in ('is-a', 'descendent-of', 'is-not-a', '='):
                if op == 'is-a':
                    allowed = set([value] + cs.descendants(value))
                elif op == 'descendent-of':
                    allowed = set(cs.descendants(value))
                elif op == '=':
                    allowed = {value}
                else:
                    allowed = set(cs.codes) - set([value] + cs.descendants(value))
                candidates = [c for c in candidates if c in allowed and cs.selectable.get(c, True)]
            else:
                complete = False
        return [(system, c) for c in candidates], complete


# ---------------------------------------------------------------------------------------------
# Search parameters


def split_union(expr):
    """Splits @expr at the top-level '|' operators."""
    parts = []
    depth = 0
    cur = []
    i = 0
    n = len(expr)
    while i < n:
        ch = expr[i]
        if ch in '\'`"':
            j = i + 1
            while j < n and expr[j] != ch:
                if expr[j] == '\\':
                    j += 1
                j += 1
            cur.append(expr[i:j + 1])
            i = j + 1
            continue
        if ch in '([{':
            depth += 1
        elif ch in ')]}':
            depth -= 1
        if ch == '|' and depth == 0:
            parts.append(''.join(cur).strip())
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append(''.join(cur).strip())
    return [p for p in parts if p]


HEAD_RE = re.compile(r'^[\s(]*([A-Za-z_][A-Za-z0-9_]*)')


def alternative_head(alt):
    m = HEAD_RE.match(alt)
    return m.group(1) if m else None


def expression_for_base(expr, base, n_bases, type_names):
    alts = split_union(expr)
    mine = [a for a in alts if alternative_head(a) == base]
    if mine:
        return ' | '.join(mine)
    generic = [a for a in alts if alternative_head(a) not in type_names]
    if generic:
        return ' | '.join(generic)
    if n_bases == 1:
        return expr
    return None


# ---------------------------------------------------------------------------------------------
# C output


def c_str(s):
    if s is None:
        return 'NULL'
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '\\':
            out.append('\\\\')
        elif ch == '"':
            out.append('\\"')
        elif ch == '?':
            out.append('\\?')
        elif ch == '\n':
            out.append('\\n')
        elif ch == '\r':
            out.append('\\r')
        elif ch == '\t':
            out.append('\\t')
        elif o < 0x20 or o == 0x7f:
            out.append('\\%03o' % o)
        else:
            out.append(ch)
    out.append('"')
    return ''.join(out)


def c_bool(b):
    return 'true' if b else 'false'


class Pool:
    """A table of rows in which identical runs are stored once."""

    def __init__(self, what):
        self.what = what
        self.rows = []
        self.runs = {}

    def add_run(self, rows):
        rows = tuple(rows)
        if not rows:
            return 0
        if rows in self.runs:
            return self.runs[rows]
        first = len(self.rows)
        self.rows.extend(rows)
        self.runs[rows] = first
        return first


def generate(folder, out_path, cmdline):
    defs = load_definitions(folder)
    types = build_types(defs)
    type_names = sorted(types)
    type_index = {n: i for i, n in enumerate(type_names)}
    check_i16(len(type_names), 'number of types')

    # Constraint keys on each type root (for the inheritance filter on elements).
    def root_keys(name):
        keys = set()
        while name is not None and name in types:
            ti = types[name]
            for c in ti.root.get('constraint', []):
                keys.add(c['key'])
            name = ti.base_name
        return keys

    root_key_cache = {}

    def type_root_keys(name):
        if name not in root_key_cache:
            root_key_cache[name] = root_keys(name)
        return root_key_cache[name]

    def constraint_row(c):
        sev = c.get('severity', 'error')
        return (c['key'], 'CHARTA_SEVERITY_WARNING' if sev == 'warning' else 'CHARTA_SEVERITY_ERROR',
                c.get('human', ''), c.get('expression'))

    def constraint_rows(cs, skip_keys):
        rows = []
        seen = set()
        for c in cs:
            key = c.get('key')
            if key == 'ele-1' or key in skip_keys or key in seen:
                continue
            if not c.get('expression'):
                continue
            seen.add(key)
            rows.append(constraint_row(c))
        return rows

    constraints = Pool('constraints')
    etypes = Pool('element types')

    # Required bindings.
    bound = set()
    for name in type_names:
        for e in types[name].elements:
            b = e.get('binding')
            if b and b.get('strength') == 'required' and b.get('valueSet'):
                bound.add(strip_version(b['valueSet']))

    expander = ValueSetExpander(defs)
    vs_urls = set()

    def collect(url):
        if url in vs_urls:
            return
        vs_urls.add(url)
        vs = defs.value_sets.get(url)
        if vs:
            for part in vs.get('compose', {}).get('include', []) + \
                    vs.get('compose', {}).get('exclude', []):
                for imp in part.get('valueSet', []):
                    collect(strip_version(imp))

    for url in bound:
        collect(url)
    vs_list = sorted(vs_urls)
    vs_index = {u: i for i, u in enumerate(vs_list)}
    check_i16(len(vs_list), 'number of value sets')

    type_rows = []
    element_rows = []
    for name in type_names:
        ti = types[name]
        # A backbone's own constraints live on its type, not on the element that declares it:
        # the element's type is the backbone, and an element with a contentReference to it
        # gets them too.  (The element filter below drops them as the type root's keys.)
        root_rows = constraint_rows(ti.root.get('constraint', []), set())
        first_c = constraints.add_run(root_rows) if root_rows else 0
        first_e = len(element_rows)
        for e in ti.elements:
            path = e['path']
            is_choice = path.endswith('[x]')
            ename = path.rsplit('.', 1)[1]
            if is_choice:
                ename = ename[:-3]
            et = []
            tcodes = []
            if 'contentReference' in e:
                ref = e['contentReference']
                ref = ref[ref.index('#') + 1:]
                if ref not in types:
                    die('%s: contentReference to unknown %s' % (path, ref))
                et.append((type_index[ref], None))
                tcodes.append(ref)
            elif path in types:
                et.append((type_index[path], None))
                tcodes.append(path)
            else:
                for t in e.get('type', []):
                    code = element_type_code(t)
                    if code not in types:
                        die('%s: unknown type %s' % (path, code))
                    targets = None
                    if code in ('Reference', 'canonical') and t.get('targetProfile'):
                        names = [type_name_from_url(p) for p in t['targetProfile']]
                        if names != ['Resource']:
                            targets = '|'.join(names)
                    et.append((type_index[code], targets))
                    tcodes.append(code)
            if not et:
                die('%s has no type' % path)
            skip = set()
            for code in tcodes:
                skip |= type_root_keys(code)
            rows = constraint_rows(e.get('constraint', []), skip)
            first_ec = constraints.add_run(rows) if rows else 0
            binding = -1
            b = e.get('binding')
            if b and b.get('strength') == 'required' and b.get('valueSet'):
                binding = vs_index[strip_version(b['valueSet'])]
            mx = e.get('max', '*')
            element_rows.append({
                'name': ename,
                'path': path,
                'min': int(e.get('min', 0)),
                'max': -1 if mx == '*' else int(mx),
                'first_type': etypes.add_run(et),
                'n_types': len(et),
                'binding': binding,
                'first_constraint': first_ec,
                'n_constraints': len(rows),
                'is_choice': is_choice,
                'is_summary': bool(e.get('isSummary')),
                'is_modifier': bool(e.get('isModifier')),
                'choice_types': [type_names[i] for i, _ in et] if is_choice else None,
            })
        base = -1
        if ti.base_name is not None:
            if ti.base_name not in type_index:
                die('%s: unknown base %s' % (name, ti.base_name))
            base = type_index[ti.base_name]
        type_rows.append({
            'name': name,
            'url': ti.url,
            'kind': KIND_C[ti.kind],
            'abstract': ti.abstract,
            'base': base,
            'first_element': first_e,
            'n_elements': len(ti.elements),
            'first_constraint': first_c,
            'n_constraints': len(root_rows),
            'regex': ti.regex,
        })

    check_u16(len(element_rows), 'number of elements')
    check_u16(len(etypes.rows), 'number of element types')
    check_u16(len(constraints.rows), 'number of constraints')
    for t in type_rows:
        check_u16(t['first_element'] + t['n_elements'], 'element index')

    # Name index: per type, its valid JSON names sorted, choice names expanded.
    name_rows = []
    name_ranges = []
    for ti_idx, name in enumerate(type_names):
        t = type_rows[ti_idx]
        entries = []
        for k in range(t['n_elements']):
            ei = t['first_element'] + k
            e = element_rows[ei]
            if e['is_choice']:
                entries.append((e['name'], ei, -2))
                for code in e['choice_types']:
                    entries.append((e['name'] + code[0].upper() + code[1:], ei, type_index[code]))
            else:
                entries.append((e['name'], ei, -1))
        entries.sort(key=lambda x: x[0].encode('utf-8'))
        for a, b in zip(entries, entries[1:]):
            if a[0] == b[0]:
                die('%s: JSON name %s is ambiguous' % (name, a[0]))
        name_ranges.append((len(name_rows), len(entries)))
        name_rows.extend(entries)
    check_u16(len(name_rows), 'number of JSON names')

    # Value sets.
    vs_rows = []
    code_rows = []
    for url in vs_list:
        codes, complete = expander.expand(url)
        if url not in defs.value_sets:
            warn('required value set %s is not defined' % url)
        codes = sorted(codes, key=lambda k: (k[1].encode('utf-8'), (k[0] or '').encode('utf-8')))
        vs_rows.append((url, complete, len(code_rows), len(codes)))
        code_rows.extend(codes)

    # Search parameters.
    n_sp = len(defs.search_params)
    sp_rows = []
    comp_rows = []
    problems = 0
    for url in sorted(defs.search_params):
        sp = defs.search_params[url]
        bases = sp.get('base', [])
        expr = sp.get('expression')
        comps = [(c.get('definition'), c.get('expression')) for c in sp.get('component', [])]
        first_comp = len(comp_rows) if comps else 0
        comp_rows.extend(comps)
        targets = '|'.join(sp['target']) if sp.get('target') else None
        modifiers = '|'.join(sp['modifier']) if sp.get('modifier') else None
        comparators = '|'.join(sp['comparator']) if sp.get('comparator') else None
        for base in bases:
            if base not in type_index:
                die('search parameter %s: unknown base %s' % (url, base))
            e = None
            if expr:
                e = expression_for_base(expr, base, len(bases), type_index)
                if e is None:
                    warn('search parameter %s (%s, %s): nothing left of %r'
                         % (url, base, sp['code'], expr))
                    problems += 1
            sp_rows.append({
                'resource_type': base,
                'code': sp['code'],
                'url': url,
                'type': SEARCH_TYPE_C[sp['type']],
                'expression': e,
                'targets': targets,
                'first_component': first_comp,
                'n_components': len(comps),
                'modifiers': modifiers,
                'comparators': comparators,
            })
    sp_rows.sort(key=lambda r: (r['resource_type'].encode(), r['code'].encode()))
    for a, b in zip(sp_rows, sp_rows[1:]):
        if (a['resource_type'], a['code']) == (b['resource_type'], b['code']):
            die('search parameter (%s, %s) defined twice: %s and %s'
                % (a['resource_type'], a['code'], a['url'], b['url']))
    check_u16(len(comp_rows), 'number of search components')
    if problems:
        die('%d search parameter expressions could not be split by base' % problems)

    # Compartments.
    cmp_rows = []
    for url in sorted(defs.compartments):
        cd = defs.compartments[url]
        if cd.get('id') == 'example' or url.endswith('/example'):
            continue
        for r in cd.get('resource', []):
            if r.get('param'):
                cmp_rows.append((cd['code'], r['code'], '|'.join(r['param'])))
    cmp_rows.sort(key=lambda r: (r[0].encode(), r[1].encode()))
    for a, b in zip(cmp_rows, cmp_rows[1:]):
        if a[:2] == b[:2]:
            die('compartment row (%s, %s) twice' % a[:2])

    warn('%d types, %d elements, %d element types, %d constraints, %d value sets, %d codes, '
         '%d search parameter definitions, %d search parameter rows, %d components, '
         '%d compartment rows'
         % (len(type_rows), len(element_rows), len(etypes.rows), len(constraints.rows),
            len(vs_rows), len(code_rows), n_sp, len(sp_rows), len(comp_rows), len(cmp_rows)))

    # Write.
    out = []
    w = out.append
    w('/* Generated file, do not edit; regenerate with: %s */\n' % cmdline)
    w('/*\n')
    w(' * SPDX-License-Identifier: LGPL-2.1-or-later\n')
    w(' *\n')
    w(' * charta-model-data.c: the FHIR R4 model tables declared in charta-model.h, from the\n')
    w(' * official R4 4.0.1 definitions (HL7, CC0).  Types are sorted by name, value sets by URL,\n')
    w(' * search parameters by (resource type, code), compartments by (compartment, resource\n')
    w(' * type), and each value set\'s codes by (code, system), so lookups can bisect.\n')
    w(' */\n\n')
    w('#include "charta-model.h"\n#include "charta-model-private.h"\n\n')

    w('const ChartaTypeDef charta_model_types[] = {\n')
    for i, t in enumerate(type_rows):
        w('  /* %d */ { %s, %s, %s, %s, %d, %d, %d, %d, %d, %s },\n'
          % (i, c_str(t['name']), c_str(t['url']), t['kind'], c_bool(t['abstract']), t['base'],
             t['first_element'], t['n_elements'], t['first_constraint'], t['n_constraints'],
             c_str(t['regex'])))
    w('};\nconst unsigned charta_model_n_types = %d;\n\n' % len(type_rows))

    w('const ChartaElementDef charta_model_elements[] = {\n')
    for i, e in enumerate(element_rows):
        w('  /* %d */ { %s, %s, %d, %d, %d, %d, %d, %d, %d, %s, %s, %s },\n'
          % (i, c_str(e['name']), c_str(e['path']), e['min'], e['max'], e['first_type'],
             e['n_types'], e['binding'], e['first_constraint'], e['n_constraints'],
             c_bool(e['is_choice']), c_bool(e['is_summary']), c_bool(e['is_modifier'])))
    w('};\nconst unsigned charta_model_n_elements = %d;\n\n' % len(element_rows))

    w('const ChartaElementTypeDef charta_model_element_types[] = {\n')
    for i, (ti, targets) in enumerate(etypes.rows):
        w('  /* %d */ { %d, %s },\n' % (i, ti, c_str(targets)))
    w('};\nconst unsigned charta_model_n_element_types = %d;\n\n' % len(etypes.rows))

    w('const ChartaConstraintDef charta_model_constraints[] = {\n')
    for i, (key, sev, human, expr) in enumerate(constraints.rows):
        w('  /* %d */ { %s, %s,\n    %s,\n    %s },\n' % (i, c_str(key), sev, c_str(human),
                                                       c_str(expr)))
    if not constraints.rows:
        w('  { NULL, CHARTA_SEVERITY_ERROR, NULL, NULL },\n')
    w('};\nconst unsigned charta_model_n_constraints = %d;\n\n' % len(constraints.rows))

    w('const ChartaValueSetDef charta_model_value_sets[] = {\n')
    for i, (url, complete, first, n) in enumerate(vs_rows):
        w('  /* %d */ { %s, %s, %d, %d },\n' % (i, c_str(url), c_bool(complete), first, n))
    w('};\nconst unsigned charta_model_n_value_sets = %d;\n\n' % len(vs_rows))

    w('const ChartaCodeDef charta_model_codes[] = {\n')
    for system, code in code_rows:
        w('  { %s, %s },\n' % (c_str(system), c_str(code)))
    w('};\nconst unsigned charta_model_n_codes = %d;\n\n' % len(code_rows))

    w('const ChartaSearchParamDef charta_model_search_params[] = {\n')
    for i, r in enumerate(sp_rows):
        w('  /* %d */ { %s, %s, %s, %s,\n    %s,\n    %s, %d, %d, %s, %s },\n'
          % (i, c_str(r['resource_type']), c_str(r['code']), c_str(r['url']), r['type'],
             c_str(r['expression']), c_str(r['targets']), r['first_component'],
             r['n_components'], c_str(r['modifiers']), c_str(r['comparators'])))
    w('};\nconst unsigned charta_model_n_search_params = %d;\n' % len(sp_rows))
    w('const unsigned charta_model_n_search_param_definitions = %d;\n\n' % n_sp)

    w('const ChartaSearchComponentDef charta_model_search_components[] = {\n')
    for definition, expr in comp_rows:
        w('  { %s, %s },\n' % (c_str(definition), c_str(expr)))
    if not comp_rows:
        w('  { NULL, NULL },\n')
    w('};\nconst unsigned charta_model_n_search_components = %d;\n\n' % len(comp_rows))

    w('const ChartaCompartmentDef charta_model_compartments[] = {\n')
    for comp, rt, params in cmp_rows:
        w('  { %s, %s, %s },\n' % (c_str(comp), c_str(rt), c_str(params)))
    w('};\nconst unsigned charta_model_n_compartments = %d;\n\n' % len(cmp_rows))

    w('const ChartaModelJsonName charta_model_json_names[] = {\n')
    for jname, ei, ct in name_rows:
        w('  { %s, %d, %d },\n' % (c_str(jname), ei, ct))
    w('};\n\n')

    w('const ChartaModelRange charta_model_type_json_names[] = {\n')
    for i, (first, n) in enumerate(name_ranges):
        w('  /* %d */ { %d, %d },\n' % (i, first, n))
    w('};\n')

    data = ''.join(out)
    if out_path == '-':
        sys.stdout.write(data)
    else:
        tmp = out_path + '.tmp'
        with open(tmp, 'w', encoding='utf-8', newline='\n') as f:
            f.write(data)
        os.replace(tmp, out_path)


def main(argv):
    if len(argv) != 3:
        sys.stderr.write('usage: %s DEFINITIONS-FOLDER OUTPUT.c\n' % argv[0])
        return 2
    folder, out_path = argv[1], argv[2]
    if not os.path.isdir(folder):
        die('%s is not a folder' % folder)
    cmdline = 'python3 tools/gen-model.py ../shared/corpus/r4-definitions fhir/charta-model-data.c'
    generate(folder, out_path, cmdline)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
