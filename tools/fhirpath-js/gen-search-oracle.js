#!/usr/bin/env node
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// gen-search-oracle.js: builds tests/data/search-oracle-fixture.json, an oracle for FHIR R4
// search: for (R4 example, search parameter) pairs, a query that must find the example and a
// query of the same parameter that must not, derived from what fhirpath.js (npm
// fhirpath@5.2.0 with its R4 model) finds for the parameter's expression in the example.
//
//   cd tools/fhirpath-js && npm install && node gen-search-oracle.js [CORPUS] [OUTPUT]
//
// CORPUS defaults to ../shared/corpus beside the project, OUTPUT to
// tests/data/search-oracle-fixture.json.
//
// Pairs, evaluation and resolve() are those of gen-fixture.js (which exports nothing and runs
// when loaded, so its small helpers are copied here): every r4-examples file with an id that
// is not in KNOWN-INVALID.txt (a store may refuse those), only the top-level resource (never
// Bundle entries or contained resources as resources of their own), with every
// SearchParameter that has an expression and whose base names the file's type.  Left out:
// parameters whose expression fhirpath.js fails on for that example (unlike gen-fixture.js,
// `X as T` on several items is not reread as ofType), special parameters, _text and
// _content, and _lastUpdated (a store sets meta.lastUpdated itself on create).  %resource is
// the resource (composite components of MolecularSequence use it).
//
// A case:
//   {"file", "type", "id", "param", "param_type", "value_kind", "value", "match", "no_match"}
// "match" and "no_match" are query strings (after '?') as a client sends them: values with
// ',', '$', '|' and '\' escaped by '\' (search.html, "Escaping search parameters") and then
// percent-encoded (everything but letters, digits, - . _ ~ ! * ' ( ) : / @); the separators
// the syntax itself uses ('|' of system|code and of quantities, '$' between composite
// components) are written raw.  "value_kind" is the FHIR type of the element the value comes
// from (HumanName, Coding, dateTime, Period, Quantity, …; a composite gives its components',
// "Coding+Quantity"), "value" the element's value used, as text (cut at 100 characters),
// for reading failures.
// Per pair at most one case (up to four for the rarer types: number, quantity, uri,
// composite), each from a different value; cases sorted by file, parameter, match.
//
// "Match" below means: the resource has a value of the parameter the query value matches
// (search semantics are "any value"); a no_match is checked against ALL values of the
// parameter in the resource (and, in string, every string inside them), not only the one the
// match came from.
//
// string: the value is one text of the item (string, markdown; HumanName: family, else a
//   given, else text, prefix, suffix; Address: city, else a line, district, state, postalCode,
//   country, text) of at least 3 characters not starting with white space.  match = its
//   first max(3, min(len / 2, 12)) characters (never cut before a combining mark, never
//   ending in white space) with the case of the ASCII letters swapped: R4 string search is a
//   case- and accent-insensitive prefix match.  no_match = "zzqx" + a suffix such that no
//   string anywhere inside the parameter's values starts with it (case- and accent-folded).
// token: Coding / CodeableConcept (its first coding with a code): "system|code", or "code"
//   when the coding has no system (a bare code matches in any system); Identifier:
//   "system|value" or "value"; ContactPoint: its value (a bare code: R4 matches it on
//   ContactPoint.value whatever its system); code, string, id, uri: the value; boolean:
//   "true"/"false".  A CodeableConcept with only text and a Coding without code give nothing
//   (that is :text, not plain token search).  no_match: the same system with the code
//   "zzqx-nomatch" (checked to be no code or value of the parameter, case-insensitively); for
//   a boolean the other value when the resource has only one.
// date: R4 gives a date search value and a resource value each the range of instants its
//   precision covers (a Period from start to end, an open end unbounded; a Timing from its
//   first to its last event, and its repeat.boundsPeriod), and defines the prefixes on those
//   ranges (search range S, resource range T): eq S contains T; gt T intersects what follows
//   S; lt T intersects what precedes S; ge gt or eq; le lt or eq; sa T wholly after S; eb T
//   wholly before S.  Values without a time zone are in the server's zone, the same for the
//   search value and the resource value.  The choices:
//   * a date, dateTime or instant: match = "eq" + the value exactly as written: both ranges
//     are the same (same text, same precision, same zone), so S contains T.  Every third
//     such value instead uses a year-margin prefix as for Periods (below), for variety.
//   * a Period, a Timing, or a value taking a margin: rotating through what the value
//     allows, "gt"/"ge" (Y-2) with Y the year of its upper bound (T reaches past the end of
//     Y-2), "lt"/"le" (Y+2) with Y the year of its lower bound (T starts before Y+2), and for
//     ranges closed on both sides "sa" (Y-2) with Y the lower bound's year and "eb" (Y+2)
//     with Y the upper bound's.  A value written in year Y lies between Y-1-12-31T10:00Z and
//     Y+1-01-01T14:00Z whatever its zone (offsets are at most 14 h), and in any server zone
//     Y-2 ends before Y-1-01-01T14:00Z and Y+2 starts after Y+1-12-31T10:00Z: each test holds
//     with most of a year to spare, under the strict R4 reading and under the looser
//     "overlaps" reading some servers use.
//   * no_match = "lt"(Ymin-2) when every value has a lower bound (Ymin the smallest year
//     written), else "gt"(Ymax+2) when every value has an upper bound, else "eq"(a far year);
//     each is checked against every value, so no value even overlaps the search range.
//   Every date case is verified by computing those ranges for server zones -14h, 0, +14h;
//   values with a year below 4 or above 9995 are not used.
// number: match = "eq" + the number exactly as written in the JSON (its raw text: "0.001530"
//   stays as is), whose range at the written precision is the resource value's own, so it
//   contains it; one value in four instead "gt" (its floor - 1000) and one in four "lt" (its
//   ceiling + 1000), true by about 1000 whatever the precision.  no_match = "eq", "gt" or
//   "lt" a whole number at least 1000 past every value of the parameter (checked against
//   each value's range, strict and loose readings as for dates).
// quantity: as number, followed by "|system|code" when the Quantity has both, else "||code"
//   or "||unit" (code or unit text); Money: "|urn:iso:std:iso:4217|currency".  A Quantity with
//   a comparator and a Range are not used for a match (their ranges are open or wide); they
//   are taken into account, as ranges open on the comparator's side, when checking no_match.
// reference: a relative "Type/id" (Type a target of the parameter) as is; an absolute URL as
//   is; a canonical without "|version" as is.  Left out: "#contained", urn:uuid: and urn:oid:,
//   versioned references, references with only an identifier or a display, resources.
//   no_match = "Type/doesnotexist" (the url + "-nope" for a url without a type), checked to
//   be none of the parameter's values.
// uri: match = the uri exactly; no_match = the uri + "-nope", checked to be none of the
//   values (so neither equal nor, for the exact match R4 uri search does, found).
// composite: the composite's expression gives its focus items; for one item, each component
//   expression is evaluated on that item alone ((FOCUS)[i].select(COMPONENT), so %resource
//   still works) and its first usable value built by the rule of the component parameter's
//   type (the component's definition names it): match = "c1$c2[$c3]", all from the SAME
//   focus item.  no_match = the same with the last component's value replaced by that
//   type's no_match, checked against the last component's values in EVERY focus item (so no
//   item can match it, whatever its other components).

'use strict';

const fs = require('fs');
const path = require('path');
const fhirpath = require('fhirpath');
const r4 = require('fhirpath/fhir-context/r4');
// Internal modules (not in the package's exports), loaded by path so they are the very
// instances fhirpath.js itself uses.
const fhirpathSrc = path.dirname(require.resolve('fhirpath'));
const { ResourceNode } = require(path.join(fhirpathSrc, 'types.js'));
const util = require(path.join(fhirpathSrc, 'utilities.js'));

const corpus = path.resolve(process.argv[2] ||
  path.join(__dirname, '..', '..', '..', 'shared', 'corpus'));
const output = path.resolve(process.argv[3] || path.join(__dirname, '..', '..', 'tests', 'data',
  'search-oracle-fixture.json'));

const SKIPPED_PARAMS = new Set(['_text', '_content', '_lastUpdated']);
const MAX_PER_PAIR = { number: 4, quantity: 4, uri: 4, composite: 4 };
const NO_MATCH_CODE = 'zzqx-nomatch';

/* ------------------------------------------------------------------------------------------ */
/* Copied from gen-fixture.js: types, and resolve() without a server. */

function isResourceType(name) {
  for (let t = name; t; t = r4.type2Parent[t]) {
    if (t === 'Resource') {
      return name !== 'Resource' && name !== 'DomainResource';
    }
  }
  return false;
}

function derivesFrom(type, ancestor) {
  for (let t = type; t; t = r4.type2Parent[t]) {
    if (t === ancestor) {
      return true;
    }
  }
  return false;
}

// The resource type a reference names: "Patient/1", "http://x/fhir/Patient/1/_history/2".
function referenceType(ref) {
  let parts = ref.split('/');
  if (parts.length >= 4 && parts[parts.length - 2] === '_history') {
    parts = parts.slice(0, parts.length - 2);
  }
  if (parts.length < 2) {
    return null;
  }
  const type = parts[parts.length - 2];
  return isResourceType(type) ? type : null;
}

function resolveFn(coll) {
  const ctx = this;
  const root = util.valData(ctx.dataRoot[0]);
  const found = [];

  for (const item of coll) {
    const v = util.valData(item);
    let ref = null;
    let declared = null;
    if (v && typeof v === 'object') {
      ref = v.reference;
      declared = v.type;
    } else if (typeof v === 'string') {
      ref = v;
    }
    if (typeof ref !== 'string') {
      continue;
    }

    let res = null;
    if (ref.startsWith('#')) {
      res = ref === '#' ? root :
        (root.contained || []).find((r) => r.id === ref.substring(1)) || null;
    } else {
      if (root.resourceType === 'Bundle') {
        for (const entry of root.entry || []) {
          const full = entry.fullUrl;
          if (typeof full === 'string' && entry.resource &&
              (full === ref || full.endsWith('/' + ref))) {
            res = entry.resource;
            break;
          }
        }
      }
      if (!res) {
        let type = referenceType(ref);
        if (!type && typeof declared === 'string' && isResourceType(declared)) {
          type = declared;
        }
        if (type) {
          res = { resourceType: type };
        }
      }
    }
    if (res) {
      found.push(ResourceNode.makeResNode(ctx, res, null, null, null, null));
    }
  }
  return found;
}

const options = {
  resolveInternalTypes: false,
  userInvocationTable: {
    resolve: { fn: resolveFn, internalStructures: true },
  },
};

/* ------------------------------------------------------------------------------------------ */
/* JSON with the text of its numbers: JSON.parse keeps 0.001530 as 0.00153 and 1.0e2 as 100,
 * while search precision depends on the digits written.  parseJson() gives the same values as
 * JSON.parse and records each number's text in rawNumbers: container (object or array) →
 * Map(key or index → text). */

function parseJson(text, rawNumbers) {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i])) {
      i++;
    }
  };
  const fail = () => {
    throw new SyntaxError(`bad JSON at offset ${i}`);
  };
  const recordNumber = (container, key, raw) => {
    let m = rawNumbers.get(container);
    if (!m) {
      m = new Map();
      rawNumbers.set(container, m);
    }
    m.set(key, raw);
  };
  const parseString = () => {
    let j = i + 1;
    while (j < text.length && text[j] !== '"') {
      j += text[j] === '\\' ? 2 : 1;
    }
    if (j >= text.length) {
      fail();
    }
    const s = JSON.parse(text.slice(i, j + 1));   // checks escapes and control characters
    i = j + 1;
    return s;
  };
  const parseValue = (container, key) => {
    ws();
    const c = text[i];
    if (c === '{') {
      const obj = {};
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') {
          fail();
        }
        const k = parseString();
        ws();
        if (text[i++] !== ':') {
          fail();
        }
        obj[k] = parseValue(obj, k);
        ws();
        if (text[i] === ',') {
          i++;
        } else if (text[i] === '}') {
          i++;
          return obj;
        } else {
          fail();
        }
      }
    }
    if (c === '[') {
      const arr = [];
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(parseValue(arr, arr.length));
        ws();
        if (text[i] === ',') {
          i++;
        } else if (text[i] === ']') {
          i++;
          return arr;
        } else {
          fail();
        }
      }
    }
    if (c === '"') {
      return parseString();
    }
    const m = /^(?:true|false|null|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)/
      .exec(text.slice(i, i + 400));
    if (!m) {
      fail();
    }
    i += m[0].length;
    const value = JSON.parse(m[0]);
    if (typeof value === 'number' && container) {
      recordNumber(container, key, m[0]);
    }
    return value;
  };
  const value = parseValue(null, null);
  ws();
  if (i !== text.length) {
    fail();
  }
  return value;
}

// The text of a number as written: member `key` of `obj` ("value" of a Quantity).
function rawMember(rawNumbers, obj, key) {
  const m = rawNumbers.get(obj);
  return m ? m.get(key) || null : null;
}

// The text of a primitive number fhirpath.js returned: found through its parent node, under
// its name or its choice-type name (probability → probabilityDecimal).
function rawOfNode(rawNumbers, node) {
  const parent = node.parentResNode ? util.valData(node.parentResNode) : null;
  if (!parent || typeof parent !== 'object' || !node.propName) {
    return null;
  }
  for (const key of Object.keys(parent)) {
    if (key !== node.propName && !(key.startsWith(node.propName) &&
        /[A-Z]/.test(key[node.propName.length] || ''))) {
      continue;
    }
    const v = parent[key];
    if (Array.isArray(v)) {
      if (node.index !== null && node.index !== undefined) {
        const raw = rawMember(rawNumbers, v, node.index);
        if (raw) {
          return raw;
        }
      }
    } else if (typeof v === 'number') {
      const raw = rawMember(rawNumbers, parent, key);
      if (raw) {
        return raw;
      }
    }
  }
  return null;
}

/* ------------------------------------------------------------------------------------------ */
/* Evaluation: a fresh parse each time (fhirpath.js annotates what it walks). */

let rawMisses = 0;   // numbers whose text was not found (JSON.parse's value is used then)

function evaluate(text, expression) {
  const rawNumbers = new WeakMap();
  const resource = parseJson(text, rawNumbers);
  // %resource (composite components of MolecularSequence use it) is the resource itself;
  // fhirpath.js leaves it undefined unless given.
  const nodes = fhirpath.evaluate(resource, expression, { resource }, r4, options);
  const types = fhirpath.types(nodes);
  return nodes.map((node, i) => {
    const isNode = node instanceof ResourceNode;
    let data = isNode ? util.valData(node) : node;
    if (data && typeof data === 'object' && typeof data.toJSON === 'function' &&
        !Array.isArray(data) && !data.resourceType) {
      data = data.toJSON();   // FP_Decimal, FP_DateTime, …
    }
    // The FHIR type; a resource's id is a System.String to fhirpath.js, and a System.Boolean
    // is computed by the expression (Patient.deceased.exists() and …), kept as such.
    let kind = types[i].replace(/^FHIR\./, '');
    if (kind === 'System.String' && isNode && node.propName === 'id') {
      kind = 'id';
    } else if (kind === 'System.String') {
      kind = 'string';
    }
    const raw = isNode && typeof data === 'number' ? rawOfNode(rawNumbers, node) : null;
    if (typeof data === 'number' && raw === null) {
      rawMisses++;
    }
    return { kind, data, raw, rawNumbers };
  });
}

/* ------------------------------------------------------------------------------------------ */
/* Query text. */

// search.html: '\' escapes ',', '$', '|' (and itself) inside a value.
function esc(s) {
  return String(s).replace(/\\/g, '\\\\').replace(/([,$|])/g, '\\$1');
}

function enc(s) {
  return encodeURIComponent(s).replace(/%3A/g, ':').replace(/%2F/g, '/').replace(/%40/g, '@');
}

// A value: escaped, then percent-encoded.
function val(s) {
  return enc(esc(s));
}

/* ------------------------------------------------------------------------------------------ */
/* string */

function foldString(s) {
  return s.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
}

function allStrings(v, out) {
  if (typeof v === 'string') {
    out.push(v);
  } else if (Array.isArray(v)) {
    v.forEach((x) => allStrings(x, out));
  } else if (v && typeof v === 'object') {
    Object.values(v).forEach((x) => allStrings(x, out));
  }
  return out;
}

function stringParts(item) {
  const d = item.data;
  const arr = (x) => (Array.isArray(x) ? x : x === undefined ? [] : [x]);
  if (item.kind === 'HumanName') {
    return [['family', arr(d.family)], ['given', arr(d.given)], ['text', arr(d.text)],
      ['prefix', arr(d.prefix)], ['suffix', arr(d.suffix)]];
  }
  if (item.kind === 'Address') {
    return [['city', arr(d.city)], ['line', arr(d.line)], ['district', arr(d.district)],
      ['state', arr(d.state)], ['postalCode', arr(d.postalCode)], ['country', arr(d.country)],
      ['text', arr(d.text)]];
  }
  if (typeof d === 'string' && ['string', 'markdown'].includes(item.kind)) {
    return [[null, [d]]];
  }
  return [];
}

function stringPrefix(s) {
  const chars = Array.from(s);
  let n = Math.max(3, Math.min(Math.floor(chars.length / 2), 12));
  n = Math.min(n, chars.length);
  // Never cut before a combining mark; never end in white space.
  while (n < chars.length && /\p{M}/u.test(chars[n])) {
    n++;
  }
  while (n > 3 && /\s/u.test(chars[n - 1])) {
    n--;
  }
  const prefix = chars.slice(0, n).join('');
  if (/\s$/u.test(prefix)) {
    return null;
  }
  return prefix.replace(/[A-Za-z]/g,
    (c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()));
}

function stringCandidates(item) {
  const out = [];
  for (const [part, texts] of stringParts(item)) {
    for (const t of texts) {
      if (typeof t !== 'string' || Array.from(t).length < 3 || /^\s/u.test(t)) {
        continue;
      }
      const prefix = stringPrefix(t);
      if (prefix && foldString(t).startsWith(foldString(prefix))) {
        out.push({ kind: item.kind, value: part ? `${part}: ${t}` : t, query: val(prefix) });
      }
    }
  }
  return out;
}

function stringNoMatch(items) {
  const folded = items.flatMap((it) => allStrings(it.data, [])).map(foldString);
  for (const suffix of ['nomatch', 'nomatchq', 'nomatchqq']) {
    const s = 'zzqx' + suffix;
    if (!folded.some((f) => f.startsWith(s))) {
      return val(s);
    }
  }
  return null;
}

/* ------------------------------------------------------------------------------------------ */
/* token */

function tokenValues(item) {
  const d = item.data;
  const coding = (c) => (c && typeof c.code === 'string' && c.code !== '' ?
    [{ system: typeof c.system === 'string' ? c.system : null, code: c.code, text: null }] : []);
  switch (item.kind) {
    case 'Coding':
      return coding(d);
    case 'CodeableConcept':
      return (d.coding || []).flatMap(coding);
    case 'Identifier':
      return typeof d.value === 'string' && d.value !== '' ?
        [{ system: typeof d.system === 'string' ? d.system : null, code: d.value }] : [];
    case 'ContactPoint':
      return typeof d.value === 'string' && d.value !== '' ? [{ system: null, code: d.value }] : [];
    case 'boolean': case 'System.Boolean':
      return typeof d === 'boolean' ? [{ system: null, code: String(d) }] : [];
    case 'code': case 'string': case 'id': case 'uri': case 'url': case 'canonical': case 'oid':
    case 'uuid':
      return typeof d === 'string' && d !== '' ? [{ system: null, code: d }] : [];
    default:
      return [];
  }
}

function tokenQuery(t) {
  return t.system !== null ? `${val(t.system)}|${val(t.code)}` : val(t.code);
}

function tokenCandidates(item) {
  return tokenValues(item).slice(0, 1).map((t) => ({
    kind: item.kind,
    value: t.system !== null ? `${t.system}|${t.code}` : t.code,
    query: tokenQuery(t),
    token: t,
  }));
}

function tokenNoMatch(items, cand) {
  const codes = new Set(items.flatMap(tokenValues).map((t) => t.code.toLowerCase()));
  if (cand.kind === 'boolean') {
    const other = cand.token.code === 'true' ? 'false' : 'true';
    return codes.has(other) ? null : other;
  }
  if (codes.has(NO_MATCH_CODE)) {
    return null;
  }
  return tokenQuery({ system: cand.token.system, code: NO_MATCH_CODE });
}

/* ------------------------------------------------------------------------------------------ */
/* date: ranges in microseconds since the epoch, as written (a value without a zone is read as
 * UTC here and shifted by the server zone when compared). */

const US_PER_MS = 1000;
const HOUR_US = 3600 * 1000 * US_PER_MS;
const ZONES_US = [-14 * HOUR_US, 0, 14 * HOUR_US];

const DATE_RE = new RegExp('^(\\d{4})(?:-(\\d{2})(?:-(\\d{2})(?:T(\\d{2}):(\\d{2})' +
  '(?::(\\d{2})(?:\\.(\\d+))?)?(Z|[+-]\\d{2}:\\d{2})?)?)?)?$');

function utcUs(y, mo, d, h, mi, s) {
  const date = new Date(0);
  date.setUTCFullYear(y, mo, d);
  date.setUTCHours(h, mi, s, 0);
  return date.getTime() * US_PER_MS;
}

// {year, lo, hi, zoned}: the instants [lo, hi] (inclusive) the text covers.
function dateRange(text) {
  const m = typeof text === 'string' ? DATE_RE.exec(text) : null;
  if (!m) {
    return null;
  }
  const y = Number(m[1]);
  if (y < 4 || y > 9995) {
    return null;
  }
  if (m[4] !== undefined && m[8] === undefined) {
    return null;   // a time without a zone: not valid FHIR
  }
  const mo = m[2] !== undefined ? Number(m[2]) - 1 : 0;
  const d = m[3] !== undefined ? Number(m[3]) : 1;
  const h = m[4] !== undefined ? Number(m[4]) : 0;
  const mi = m[5] !== undefined ? Number(m[5]) : 0;
  const s = m[6] !== undefined ? Number(m[6]) : 0;
  let lo = utcUs(y, mo, d, h, mi, s);
  let next;
  if (m[2] === undefined) {
    next = utcUs(y + 1, 0, 1, 0, 0, 0);
  } else if (m[3] === undefined) {
    next = utcUs(y, mo + 1, 1, 0, 0, 0);
  } else if (m[4] === undefined) {
    next = utcUs(y, mo, d + 1, 0, 0, 0);
  } else if (m[6] === undefined) {
    next = lo + 60 * 1000 * US_PER_MS;
  } else if (m[7] === undefined) {
    next = lo + 1000 * US_PER_MS;
  } else {
    const digits = Math.min(m[7].length, 6);
    const unit = Math.pow(10, 6 - digits);
    lo += Number(m[7].substring(0, digits)) * unit;
    next = lo + unit;
  }
  let zoned = false;
  if (m[8] !== undefined) {
    zoned = true;
    if (m[8] !== 'Z') {
      const sign = m[8][0] === '-' ? -1 : 1;
      const minutes = Number(m[8].substring(1, 3)) * 60 + Number(m[8].substring(4, 6));
      const off = sign * minutes * 60 * 1000 * US_PER_MS;
      lo -= off;
      next -= off;
    }
  }
  return { year: y, lo, hi: next - 1, zoned };
}

// A resource value as {lo: bound|null, hi: bound|null, closed} where a bound is a dateRange
// (its lo for the lower bound, its hi for the upper); null is unbounded.
function dateValues(item) {
  const d = item.data;
  if (['date', 'dateTime', 'instant'].includes(item.kind)) {
    const r = dateRange(d);
    return r ? [{ lo: r, hi: r, text: d }] : [{ unknown: true }];
  }
  if (item.kind === 'Period') {
    const lo = d.start !== undefined ? dateRange(d.start) : null;
    const hi = d.end !== undefined ? dateRange(d.end) : null;
    if ((d.start !== undefined && !lo) || (d.end !== undefined && !hi) || (!lo && !hi) ||
        (lo && hi && lo.lo > hi.hi)) {
      return [{ unknown: true }];
    }
    return [{ lo, hi }];
  }
  if (item.kind === 'Timing') {
    const rs = (d.event || []).map(dateRange);
    const bp = d.repeat && d.repeat.boundsPeriod;
    if (rs.some((r) => !r) || (d.repeat && (d.repeat.boundsDuration || d.repeat.boundsRange))) {
      return [{ unknown: true }];
    }
    let lo = null;
    let hi = null;
    let openLo = false;
    let openHi = false;
    for (const r of rs) {
      lo = !lo || r.lo < lo.lo ? r : lo;
      hi = !hi || r.hi > hi.hi ? r : hi;
    }
    if (bp) {
      const s = bp.start !== undefined ? dateRange(bp.start) : null;
      const e = bp.end !== undefined ? dateRange(bp.end) : null;
      if ((bp.start !== undefined && !s) || (bp.end !== undefined && !e)) {
        return [{ unknown: true }];
      }
      openLo = !s;
      openHi = !e;
      lo = s && (!lo || s.lo < lo.lo) ? s : lo;
      hi = e && (!hi || e.hi > hi.hi) ? e : hi;
    }
    if (!lo && !hi) {
      return [{ unknown: true }];
    }
    return [{ lo: openLo ? null : lo, hi: openHi ? null : hi }];
  }
  return [];
}

// The instants of a value for a server zone (values without a zone are local time there).
function concrete(v, zone) {
  if (v.unknown) {
    return [-Infinity, Infinity];
  }
  const shift = (r) => (r.zoned ? 0 : -zone);
  return [v.lo ? v.lo.lo + shift(v.lo) : -Infinity, v.hi ? v.hi.hi + shift(v.hi) : Infinity];
}

// R4 search.html prefixes on ranges: s the search range, t the resource's; `loose` reads
// gt/ge/lt/le/eq as overlaps, as some servers do (a no_match must fail under both readings).
function rangeMatches(prefix, s, t, loose) {
  const [sl, sh] = s;
  const [tl, th] = t;
  const contains = sl <= tl && th <= sh;
  const overlaps = tl <= sh && sl <= th;
  switch (prefix) {
    case 'eq':
      return loose ? overlaps : contains;
    case 'gt':
      return loose ? th > sl : th > sh;
    case 'ge':
      return loose ? th >= sl : (th > sh || contains);
    case 'lt':
      return loose ? tl < sh : tl < sl;
    case 'le':
      return loose ? tl <= sh : (tl < sl || contains);
    case 'sa':
      return loose ? tl > sh || overlaps : tl > sh;
    case 'eb':
      return loose ? th < sl || overlaps : th < sl;
    default:
      throw new Error(`prefix ${prefix}`);
  }
}

// Does `prefix`+`text` find the value under every zone (match), or under none (no_match)?
function dateQueryHolds(prefix, text, values, wantMatch) {
  const q = dateRange(text);
  if (!q) {
    return false;
  }
  for (const zone of ZONES_US) {
    const s = concrete({ lo: q, hi: q }, zone);
    if (wantMatch) {
      if (!values.some((v) => rangeMatches(prefix, s, concrete(v, zone), false))) {
        return false;
      }
    } else if (values.some((v) => rangeMatches(prefix, s, concrete(v, zone), false) ||
                                  rangeMatches(prefix, s, concrete(v, zone), true))) {
      return false;
    }
  }
  return true;
}

function yearText(y) {
  return String(y).padStart(4, '0');
}

function dateCandidates(item, counter) {
  const out = [];
  for (const v of dateValues(item)) {
    if (v.unknown) {
      continue;
    }
    const turn = counter.n++;
    let choice = null;
    if (v.text !== undefined && turn % 3 !== 2) {
      choice = ['eq', v.text];
    } else {
      // With an upper bound in year Y, gt/ge (Y-2): the range above Y-2 meets the value;
      // with a lower bound in Y, lt/le (Y+2); closed ranges also sa (lower Y - 2) and eb
      // (upper Y + 2).  Rotate through what the value allows.
      const margin = [];
      if (v.hi) {
        margin.push(['gt', yearText(v.hi.year - 2)], ['ge', yearText(v.hi.year - 2)]);
      }
      if (v.lo) {
        margin.push(['lt', yearText(v.lo.year + 2)], ['le', yearText(v.lo.year + 2)]);
      }
      if (v.lo && v.hi) {
        margin.push(['sa', yearText(v.lo.year - 2)], ['eb', yearText(v.hi.year + 2)]);
      }
      choice = margin[counter.margin++ % margin.length];
    }
    out.push({
      kind: item.kind,
      value: v.text !== undefined ? v.text : JSON.stringify(item.data),
      query: choice[0] + enc(choice[1]),
      date: choice,
    });
  }
  return out;
}

function dateNoMatch(items, cand) {
  const values = items.flatMap(dateValues);
  const known = values.filter((v) => !v.unknown);
  const tries = [];
  if (known.length && values.every((v) => !v.unknown && v.lo)) {
    tries.push(['lt', yearText(Math.min(...known.map((v) => v.lo.year)) - 2)]);
  }
  if (known.length && values.every((v) => !v.unknown && v.hi)) {
    tries.push(['gt', yearText(Math.max(...known.map((v) => v.hi.year)) + 2)]);
  }
  const years = known.flatMap((v) => [v.lo, v.hi]).filter((r) => r).map((r) => r.year);
  tries.push(['eq', years.length && Math.min(...years) > 1810 ? '1801-01-01' : '9990-01-01']);
  for (const [prefix, text] of tries) {
    if (dateQueryHolds(prefix, text, values, false)) {
      return prefix + enc(text);
    }
  }
  return null;
}

/* ------------------------------------------------------------------------------------------ */
/* number and quantity: a value as its range [lo, hi] at the written precision. */

const NUMBER_RE = /^-?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

function numberRange(raw) {
  const m = NUMBER_RE.exec(raw);
  if (!m) {
    return null;
  }
  const v = Number(raw);
  const exp = m[3] ? Number(m[3]) : 0;
  const half = 0.5 * Math.pow(10, exp - (m[2] ? m[2].length : 0));
  return { value: v, lo: v - half, hi: v + half };
}

// {lo, hi, value, raw} ranges of an item for number/quantity search; `usable` when it can
// give a match (a plain value, no comparator).
function numericValues(item, forQuantity) {
  const d = item.data;
  const qty = (q, kind) => {
    if (!q || typeof q.value !== 'number') {
      return null;
    }
    const raw = rawMember(item.rawNumbers, q, 'value') || String(q.value);
    const r = numberRange(raw);
    if (!r) {
      return null;
    }
    const c = q.comparator;
    return {
      raw,
      lo: c === '<' || c === '<=' ? -Infinity : r.lo,
      hi: c === '>' || c === '>=' ? Infinity : r.hi,
      value: r.value,
      usable: !c,
      kind,
      q,
    };
  };
  if (typeof d === 'number') {
    const raw = item.raw || String(d);
    const r = numberRange(raw);
    return r ?
      [{ raw, lo: r.lo, hi: r.hi, value: r.value, usable: !forQuantity, kind: item.kind }] : [];
  }
  if (d && typeof d === 'object') {
    if (item.kind === 'Range') {
      const lo = qty(d.low, 'Range');
      const hi = qty(d.high, 'Range');
      return [{ lo: lo ? lo.lo : -Infinity, hi: hi ? hi.hi : Infinity, usable: false }];
    }
    if (item.kind === 'Money') {
      const m = qty(d, 'Money');
      return m ? [m] : [];
    }
    if ('value' in d || 'comparator' in d) {
      const q = qty(d, item.kind);
      return q ? [q] : [];
    }
  }
  return [];
}

function unitSuffix(nv) {
  const q = nv.q;
  if (!q) {
    return '';
  }
  if (nv.kind === 'Money') {
    return typeof q.currency === 'string' ? `|urn:iso:std:iso:4217|${val(q.currency)}` : null;
  }
  if (typeof q.system === 'string' && typeof q.code === 'string') {
    return `|${val(q.system)}|${val(q.code)}`;
  }
  if (typeof q.code === 'string') {
    return `||${val(q.code)}`;
  }
  if (typeof q.unit === 'string') {
    return `||${val(q.unit)}`;
  }
  return '';
}

function wholeText(n) {
  return String(n);
}

function numericCandidates(item, forQuantity, counter) {
  const out = [];
  for (const nv of numericValues(item, forQuantity)) {
    if (!nv.usable || (forQuantity && !nv.q)) {
      continue;
    }
    const suffix = forQuantity ? unitSuffix(nv) : '';
    if (suffix === null) {
      continue;
    }
    const turn = counter.n++;
    let prefix = 'eq';
    let number = nv.raw;
    if (turn % 4 === 1) {
      prefix = 'gt';
      number = wholeText(Math.floor(nv.value) - 1000);
    } else if (turn % 4 === 3) {
      prefix = 'lt';
      number = wholeText(Math.ceil(nv.value) + 1000);
    }
    const unitText = nv.q ? (nv.kind === 'Money' ? ` ${nv.q.currency}` :
      ` ${[nv.q.system, nv.q.code, nv.q.unit].filter((x) => x !== undefined).join(' ')}`) : '';
    out.push({
      kind: nv.kind,
      value: nv.raw + unitText,
      query: prefix + enc(number) + suffix,
      num: [prefix, number],
      suffix,
    });
  }
  return out;
}

function numericQueryHolds(prefix, text, values, wantMatch) {
  const q = numberRange(text);
  const s = [q.lo, q.hi];
  if (wantMatch) {
    return values.some((v) => rangeMatches(prefix, s, [v.lo, v.hi], false));
  }
  return !values.some((v) => rangeMatches(prefix, s, [v.lo, v.hi], false) ||
                             rangeMatches(prefix, s, [v.lo, v.hi], true));
}

function numericNoMatch(items, cand, forQuantity) {
  const values = items.flatMap((it) => numericValues(it, forQuantity));
  const finite = values.flatMap((v) => [v.lo, v.hi]).filter((x) => Number.isFinite(x));
  if (!finite.length) {
    return null;
  }
  const max = Math.ceil(Math.max(...finite));
  const min = Math.floor(Math.min(...finite));
  const tries = [['eq', wholeText(max + 1000)], ['gt', wholeText(max + 1000)],
    ['lt', wholeText(min - 1000)]];
  const start = cand.num[0] === 'gt' ? 2 : cand.num[0] === 'lt' ? 1 : 0;
  for (let k = 0; k < tries.length; k++) {
    const [prefix, number] = tries[(start + k) % tries.length];
    if (numericQueryHolds(prefix, number, values, false)) {
      return prefix + enc(number) + cand.suffix;
    }
  }
  return null;
}

/* ------------------------------------------------------------------------------------------ */
/* reference */

const ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;

function referenceStrings(item) {
  const d = item.data;
  if (item.kind === 'Reference') {
    return d && typeof d.reference === 'string' ? [d.reference] : [];
  }
  if (['canonical', 'uri', 'url'].includes(item.kind) && typeof d === 'string') {
    return [d];
  }
  return [];
}

function referenceCandidates(item, sp) {
  const out = [];
  for (const ref of referenceStrings(item)) {
    if (ref.startsWith('#') || /^urn:/i.test(ref) || ref.includes('/_history/')) {
      continue;
    }
    if (item.kind === 'canonical' && ref.includes('|')) {
      continue;
    }
    const parts = ref.split('/');
    let type = null;
    if (/^[a-z][a-z0-9+.-]*:/i.test(ref)) {
      type = parts.length >= 4 && isResourceType(parts[parts.length - 2]) &&
        ID_RE.test(parts[parts.length - 1]) ? parts[parts.length - 2] : null;
    } else if (item.kind === 'Reference') {
      if (parts.length !== 2 || !isResourceType(parts[0]) || !ID_RE.test(parts[1])) {
        continue;
      }
      type = parts[0];
    } else {
      continue;   // a relative canonical or uri
    }
    if (type && sp.target && !sp.target.includes(type)) {
      continue;
    }
    if (!type && item.kind === 'Reference' && !/^https?:/.test(ref)) {
      continue;
    }
    out.push({ kind: item.kind, value: ref, query: val(ref), ref, type });
  }
  return out;
}

function referenceNoMatch(items, cand) {
  const refs = new Set(items.flatMap(referenceStrings));
  const nm = cand.type ? `${cand.type}/doesnotexist` : `${cand.ref}-nope`;
  if ([...refs].some((r) => r === nm || r.endsWith('/' + nm))) {
    return null;
  }
  return val(nm);
}

/* ------------------------------------------------------------------------------------------ */
/* uri */

function uriCandidates(item) {
  const d = item.data;
  if (!['uri', 'url', 'canonical', 'oid', 'uuid'].includes(item.kind) || typeof d !== 'string' ||
      d === '') {
    return [];
  }
  return [{ kind: item.kind, value: d, query: val(d), uri: d }];
}

function uriNoMatch(items, cand) {
  const nm = cand.uri + '-nope';
  if (items.some((it) => it.data === nm)) {
    return null;
  }
  return val(nm);
}

/* ------------------------------------------------------------------------------------------ */
/* By type. */

function candidatesFor(type, item, sp, counters) {
  switch (type) {
    case 'string':
      return stringCandidates(item);
    case 'token':
      return tokenCandidates(item);
    case 'date':
      return dateCandidates(item, counters.date);
    case 'number':
      return numericCandidates(item, false, counters.number);
    case 'quantity':
      return numericCandidates(item, true, counters.quantity);
    case 'reference':
      return referenceCandidates(item, sp);
    case 'uri':
      return uriCandidates(item);
    default:
      return [];
  }
}

function noMatchFor(type, items, cand) {
  switch (type) {
    case 'string':
      return stringNoMatch(items);
    case 'token':
      return tokenNoMatch(items, cand);
    case 'date':
      return dateNoMatch(items, cand);
    case 'number':
      return numericNoMatch(items, cand, false);
    case 'quantity':
      return numericNoMatch(items, cand, true);
    case 'reference':
      return referenceNoMatch(items, cand);
    case 'uri':
      return uriNoMatch(items, cand);
    default:
      return null;
  }
}

// A match candidate checked once more against its own values (the rules above make it hold;
// this guards the code).
function matchHolds(type, items, cand) {
  if (type === 'date') {
    return dateQueryHolds(cand.date[0], cand.date[1], items.flatMap(dateValues), true);
  }
  if (type === 'number' || type === 'quantity') {
    return numericQueryHolds(cand.num[0], cand.num[1],
      items.flatMap((it) => numericValues(it, type === 'quantity')), true);
  }
  return true;
}

/* ------------------------------------------------------------------------------------------ */

function main() {
  const examplesDir = path.join(corpus, 'r4-examples');
  const bundle = JSON.parse(fs.readFileSync(path.join(corpus, 'r4-definitions',
    'search-parameters.json'), 'utf8'));
  const byUrl = new Map();
  const params = [];
  for (const entry of bundle.entry) {
    const sp = entry.resource;
    byUrl.set(sp.url, sp);
    if (sp.expression && sp.type !== 'special' && !SKIPPED_PARAMS.has(sp.code)) {
      params.push(sp);
    }
  }
  const invalid = new Set();
  const knownInvalid = path.join(examplesDir, 'KNOWN-INVALID.txt');
  if (fs.existsSync(knownInvalid)) {
    for (const line of fs.readFileSync(knownInvalid, 'utf8').split('\n')) {
      const m = /^([^#\s]\S*\.json)\s/.exec(line);
      if (m) {
        invalid.add(m[1]);
      }
    }
  }

  const files = fs.readdirSync(examplesDir)
    .filter((f) => f.endsWith('.json') && !invalid.has(f)).sort();
  const cases = [];
  const stats = {
    errorParams: new Set(), errors: 0, noCandidate: 0, noNoMatch: 0, failedCheck: 0, pairs: 0,
  };
  const counters = { date: { n: 0, margin: 0 }, number: { n: 0 }, quantity: { n: 0 } };

  for (const file of files) {
    const text = fs.readFileSync(path.join(examplesDir, file), 'utf8');
    let resource;
    try {
      resource = JSON.parse(text);
    } catch (e) {
      continue;
    }
    const type = resource.resourceType;
    if (typeof type !== 'string' || !isResourceType(type) || typeof resource.id !== 'string' ||
        resource.id === '') {
      continue;
    }
    const seenCodes = new Set();
    for (const sp of params) {
      const applies = sp.base.some((b) => b === type || (b === 'Resource') ||
        (b === 'DomainResource' && derivesFrom(type, 'DomainResource')));
      if (!applies || seenCodes.has(sp.code)) {
        continue;
      }
      seenCodes.add(sp.code);
      let items;
      try {
        items = evaluate(text, sp.expression);
      } catch (e) {
        stats.errors++;
        stats.errorParams.add(sp.code);
        continue;
      }
      if (!items.length) {
        continue;
      }
      stats.pairs++;
      const made = sp.type === 'composite' ?
        compositeCases(text, sp, byUrl, items, counters, stats) :
        simpleCases(sp, items, counters, stats);
      for (const c of made) {
        cases.push({
          file,
          type,
          id: resource.id,
          param: sp.code,
          param_type: sp.type,
          value_kind: c.kind,
          value: Array.from(c.value).length > 100 ?
            Array.from(c.value).slice(0, 99).join('') + '…' : c.value,
          match: `${sp.code}=${c.match}`,
          no_match: `${sp.code}=${c.noMatch}`,
        });
      }
    }
  }

  const cmp = (x, y) => (x < y ? -1 : x > y ? 1 : 0);
  cases.sort((a, b) => cmp(a.file, b.file) || cmp(a.param, b.param) || cmp(a.match, b.match));
  const fixture = {
    generator: 'tools/fhirpath-js/gen-search-oracle.js',
    fhirpath_js: JSON.parse(fs.readFileSync(path.join(fhirpathSrc, '..', 'package.json'),
      'utf8')).version,
    corpus: 'r4-examples',
    cases,
  };
  // One case a line, so that diffs of the fixture read well.
  fs.writeFileSync(output,
    JSON.stringify(fixture).replace(/\},\{"file"/g, '},\n{"file"') + '\n');
  const perType = {};
  for (const c of cases) {
    perType[c.param_type] = (perType[c.param_type] || 0) + 1;
  }
  process.stderr.write(`${cases.length} cases ${JSON.stringify(perType)} ` +
    `from ${stats.pairs} non-empty pairs (${stats.errors} fhirpath.js errors skipped, ` +
    `${stats.noCandidate} pairs without a usable value, ` +
    `${stats.noNoMatch} candidates without a safe no_match, ` +
    `${rawMisses} numbers without their text; ` +
    `fhirpath.js fails on: ${[...stats.errorParams].sort().join(' ')}) -> ${output}\n`);
  if (stats.failedCheck) {
    throw new Error(`${stats.failedCheck} candidates failed their own check`);
  }
}

function simpleCases(sp, items, counters, stats) {
  const max = MAX_PER_PAIR[sp.type] || 1;
  const out = [];
  const seen = new Set();
  for (const item of items) {
    for (const cand of candidatesFor(sp.type, item, sp, counters)) {
      if (out.length >= max || seen.has(cand.query)) {
        continue;
      }
      if (!matchHolds(sp.type, items, cand)) {
        stats.failedCheck++;
        continue;
      }
      const noMatch = noMatchFor(sp.type, items, cand);
      if (noMatch === null) {
        stats.noNoMatch++;
        continue;
      }
      seen.add(cand.query);
      out.push({ kind: cand.kind, value: cand.value, match: cand.query, noMatch });
    }
  }
  if (!out.length) {
    stats.noCandidate++;
  }
  return out;
}

// The composite's components: [{sp (the component's parameter), expression}], or null.
function componentsOf(sp, byUrl) {
  const comps = [];
  for (const c of sp.component || []) {
    const def = byUrl.get(c.definition);
    const types = ['string', 'token', 'date', 'number', 'quantity', 'reference', 'uri'];
    if (!def || !types.includes(def.type)) {
      return null;
    }
    comps.push({ sp: def, expression: c.expression });
  }
  return comps.length >= 2 ? comps : null;
}

function compositeCases(text, sp, byUrl, focusItems, counters, stats) {
  const comps = componentsOf(sp, byUrl);
  if (!comps) {
    stats.noCandidate++;
    return [];
  }
  // The values of each component on each focus item.
  const perFocus = [];
  for (let i = 0; i < focusItems.length; i++) {
    const values = [];
    for (const comp of comps) {
      try {
        values.push(evaluate(text, `(${sp.expression})[${i}].select(${comp.expression})`));
      } catch (e) {
        values.push(null);
      }
    }
    perFocus.push(values);
  }
  const last = comps.length - 1;
  const lastItems = perFocus.flatMap((values) => values[last] || []);
  const out = [];
  const seen = new Set();
  for (const values of perFocus) {
    if (out.length >= MAX_PER_PAIR.composite || values.some((v) => v === null || !v.length)) {
      continue;
    }
    const chosen = [];
    for (let j = 0; j < comps.length; j++) {
      const cand = values[j]
        .flatMap((item) => candidatesFor(comps[j].sp.type, item, comps[j].sp, counters))
        .find((c) => matchHolds(comps[j].sp.type, values[j], c));
      if (!cand) {
        break;
      }
      chosen.push(cand);
    }
    if (chosen.length !== comps.length) {
      continue;
    }
    const noMatchLast = noMatchFor(comps[last].sp.type, lastItems, chosen[last]);
    if (noMatchLast === null) {
      stats.noNoMatch++;
      continue;
    }
    const match = chosen.map((c) => c.query).join('$');
    if (seen.has(match)) {
      continue;
    }
    seen.add(match);
    out.push({
      kind: chosen.map((c) => c.kind).join('+'),
      value: chosen.map((c) => c.value).join(' $ '),
      match,
      noMatch: chosen.slice(0, last).map((c) => c.query).concat([noMatchLast]).join('$'),
    });
  }
  if (!out.length) {
    stats.noCandidate++;
  }
  return out;
}

main();
