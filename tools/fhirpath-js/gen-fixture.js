#!/usr/bin/env node
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// gen-fixture.js: runs fhirpath.js (npm fhirpath@5.2.0, with its R4 model) over every
// (search parameter, example) pair of the corpus and writes what it finds to
// tests/data/fhirpath-js-fixture.json, the reference tests/fhir/test-fhirpath-js.c holds our
// FHIRPath evaluator to.
//
//   cd tools/fhirpath-js && npm install && node gen-fixture.js [CORPUS] [OUTPUT]
//
// CORPUS defaults to ../shared/corpus beside the project, OUTPUT to
// tests/data/fhirpath-js-fixture.json.
//
// Pairs: every example file of r4-examples that parses as JSON, with every SearchParameter
// that has an expression and whose base names the file's resourceType (or Resource, or
// DomainResource for the types derived from it).  The full definition expression is
// evaluated, as written in the SearchParameter ("AllergyIntolerance.code | … |
// Observation.code"); on a resource of another type the other alternatives give nothing.
//
// resolve(): fhirpath.js 5.2.0 resolves references only through a FHIR server.  There is
// none here, so the script installs its own resolve() with the semantics Charta documents
// (charta-fhirpath.c): "#id" finds the contained resource, a reference inside a Bundle finds
// the entry by fullUrl, and any other "Type/id" (relative, absolute or versioned, or a
// Reference.type) gives a stand-in resource of that type, so `where(resolve() is Patient)`
// filters by the referenced type as search parameters intend.
//
// The fixture is compact: the expressions and the file names are listed once; each pair
// is [file index, parameter index, result].  A result is the array of values fhirpath.js
// returns (objects as they are, primitives as JSON values, dates as strings), or
// {"error": message} when fhirpath.js fails (with "of_type": the result of the expression
// with `(X as T)` read as X.ofType(T), when the failure is fhirpath.js refusing `as` on a
// collection; when that reading fails too because fhirpath.js cannot deduplicate a Quantity
// with a comparator, "of_type_parts": each alternative of the union evaluated alone, the
// values deduplicated by their JSON text).  A result that is the resource itself (the
// composite parameters' expression "Observation") is written as {"self": true}.

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

const corpus = path.resolve(process.argv[2] || path.join(__dirname, '..', '..', '..', 'shared', 'corpus'));
const output = path.resolve(process.argv[3] || path.join(__dirname, '..', '..', 'tests', 'data',
  'fhirpath-js-fixture.json'));

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
      res = ref === '#' ? root : (root.contained || []).find((r) => r.id === ref.substring(1)) || null;
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
  userInvocationTable: {
    // internalStructures: called with the evaluation context as `this` and the items as
    // fhirpath.js nodes, as its own functions are.
    resolve: { fn: resolveFn, internalStructures: true },
  },
};

function main() {
  const examplesDir = path.join(corpus, 'r4-examples');
  const bundle = JSON.parse(fs.readFileSync(path.join(corpus, 'r4-definitions', 'search-parameters.json'), 'utf8'));
  const params = [];
  for (const entry of bundle.entry) {
    const sp = entry.resource;
    if (sp.expression) {
      params.push({ url: sp.url, code: sp.code, base: sp.base, expression: sp.expression });
    }
  }

  const files = fs.readdirSync(examplesDir).filter((f) => f.endsWith('.json')).sort();
  const usedFiles = [];
  const pairs = [];
  let nErrors = 0;
  let nEmpty = 0;

  for (const file of files) {
    let resource;
    try {
      resource = JSON.parse(fs.readFileSync(path.join(examplesDir, file), 'utf8'));
    } catch (e) {
      continue;
    }
    const type = resource.resourceType;
    if (typeof type !== 'string' || !isResourceType(type)) {
      continue;
    }
    const fileIndex = usedFiles.length;
    usedFiles.push(file);

    params.forEach((sp, paramIndex) => {
      const applies = sp.base.some((b) => b === type || (b === 'Resource') ||
        (b === 'DomainResource' && derivesFrom(type, 'DomainResource')));
      if (!applies) {
        return;
      }
      let result;
      try {
        // A fresh copy each time: fhirpath.js annotates the objects it walks.
        const copy = JSON.parse(JSON.stringify(resource));
        result = fhirpath.evaluate(copy, sp.expression, null, r4, options);
        result = JSON.parse(JSON.stringify(result));
        if (result.length === 1 && result[0] && typeof result[0] === 'object' &&
            result[0].resourceType === type &&
            JSON.stringify(result[0]) === JSON.stringify(resource)) {
          result = { self: true };
        } else if (result.length === 0) {
          nEmpty++;
        }
      } catch (e) {
        result = { error: String(e.message || e) };
        nErrors++;
        // fhirpath.js 5.2.0 refuses `X as T` when X has several items, which R4 search
        // expressions do (Observation.component.value as Quantity).  Also record what the
        // expression gives with every `(X as T)` read as X.ofType(T), the filtering the
        // parameter means, so the test can still compare values.
        if (/Expected singleton on left side of 'as'/.test(result.error)) {
          const rewritten = sp.expression.replace(/\(([A-Za-z0-9_.]+) as ([A-Za-z]+)\)/g, '$1.ofType($2)');
          try {
            const copy = JSON.parse(JSON.stringify(resource));
            result.of_type = JSON.parse(JSON.stringify(fhirpath.evaluate(copy, rewritten, null, r4, options)));
          } catch (e2) {
            result.of_type_error = String(e2.message || e2);
            // fhirpath.js also fails to deduplicate a union holding a Quantity with a
            // comparator: evaluate each alternative alone and deduplicate by JSON text.
            if (/has a comparator/.test(result.of_type_error)) {
              const seen = new Set();
              result.of_type_parts = [];
              for (const part of rewritten.split(' | ')) {
                const copy = JSON.parse(JSON.stringify(resource));
                for (const v of JSON.parse(JSON.stringify(fhirpath.evaluate(copy, part, null, r4, options)))) {
                  const key = JSON.stringify(v);
                  if (!seen.has(key)) {
                    seen.add(key);
                    result.of_type_parts.push(v);
                  }
                }
              }
            }
          }
        }
      }
      pairs.push([fileIndex, paramIndex, result]);
    });
  }

  const fixture = {
    generator: 'tools/fhirpath-js/gen-fixture.js',
    fhirpath_js: JSON.parse(fs.readFileSync(path.join(fhirpathSrc, '..', 'package.json'), 'utf8')).version,
    params,
    files: usedFiles,
    pairs,
  };
  fs.writeFileSync(output, JSON.stringify(fixture) + '\n');
  process.stderr.write(`${pairs.length} pairs (${nEmpty} empty, ${nErrors} fhirpath.js errors) ` +
    `over ${usedFiles.length} files and ${params.length} parameters -> ${output}\n`);
}

main();
