// SPDX-License-Identifier: LGPL-2.1-or-later
//
// fhir-kit-client.mjs: `charta serve` driven by a standard FHIR client from npm
// (fhir-kit-client 2.0.3), with no special handling: what a new user's script would do.
//
//   node tests/client/fhir-kit-client.mjs CHARTA
//
// CHARTA is the built `charta` command.  The script makes a new store in a temporary folder,
// starts `charta serve STORE --listen 127.0.0.1:0`, reads the base URL it prints, and then
// through the client: reads the CapabilityStatement, creates, reads, searches (and pages),
// updates, vreads, patches (JSON Patch), posts a transaction whose Observation refers to its
// Patient by urn:uuid, reads history, deletes and reads the deleted resource (410); then a
// scan: a Binary created as FHIR JSON (base64 data), read back as JSON and as raw bytes (also a
// byte range, with Node's fetch), and a DocumentReference pointing at it, whose attachment size
// and SHA-1 hash the server filled in.  Each step
// is one TAP line with what was expected beside what came, so meson reads the result.  The
// dependencies are in package.json (installed by `tools/quickstart test` with npm ci); this is
// a test driver, never part of the product.

import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { Client } from 'fhir-kit-client';

const charta = process.argv[2];
if (!charta) {
  console.log('1..0 # no charta command given');
  process.exit(1);
}

let n = 0;
let failed = 0;

function check(description, ok, detail) {
  n++;
  if (ok) {
    console.log(`ok ${n} - ${description}`);
  } else {
    failed++;
    console.log(`not ok ${n} - ${description}`);
    if (detail !== undefined)
      console.log(`# ${String(detail).split('\n').join('\n# ')}`);
  }
}

function equal(description, got, expected) {
  const a = JSON.stringify(got);
  const b = JSON.stringify(expected);
  check(description, a === b, `expected ${b}, got ${a}`);
}

// The HTTP status of a rejected call (fhir-kit-client rejects on 4xx and 5xx).
async function statusOf(promise) {
  try {
    await promise;
    return 200;
  } catch (error) {
    return error?.response?.status ?? error?.status ?? String(error);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'charta-fhir-kit-'));
const store = join(dir, 'client.charta');
execFileSync(charta, ['init', store]);

const server = spawn(charta, ['serve', store, '--listen', '127.0.0.1:0'],
                     { stdio: ['ignore', 'pipe', 'inherit'] });
const stop = () => {
  server.kill('SIGTERM');
};
const timer = setTimeout(() => {
  console.log('Bail out! timed out after 120 s');
  stop();
  process.exit(1);
}, 120000);

const baseUrl = await new Promise((resolve, reject) => {
  const lines = createInterface({ input: server.stdout });
  lines.once('line', (line) => resolve(line.trim()));
  server.once('exit', (code) => reject(new Error(`charta serve exited with ${code}`)));
});

try {
  const client = new Client({ baseUrl });

  // The CapabilityStatement
  const capability = await client.capabilityStatement();
  equal('metadata is a CapabilityStatement', capability.resourceType, 'CapabilityStatement');
  equal('for FHIR 4.0.1', capability.fhirVersion, '4.0.1');
  const patientRest = capability.rest?.[0]?.resource?.find((r) => r.type === 'Patient');
  check('it lists Patient with its search parameters',
        patientRest !== undefined && patientRest.searchParam?.some((p) => p.name === 'family'),
        JSON.stringify(patientRest)?.slice(0, 300));

  // create, read
  const created = await client.create({
    resourceType: 'Patient',
    body: {
      resourceType: 'Patient',
      name: [{ family: 'Kitclient', given: ['Ada'] }],
      birthDate: '1970-01-01',
    },
  });
  equal('create: a Patient', created.resourceType, 'Patient');
  check('create: the server gave an id', typeof created.id === 'string' && created.id.length > 0,
        created.id);
  equal('create: version 1', created.meta?.versionId, '1');
  const read = await client.read({ resourceType: 'Patient', id: created.id });
  equal('read: the same name', read.name, [{ family: 'Kitclient', given: ['Ada'] }]);

  // search
  const found = await client.search({ resourceType: 'Patient',
                                      searchParams: { family: 'kitclient' } });
  equal('search: a searchset', found.type, 'searchset');
  equal('search: finds the patient', found.entry?.map((e) => e.resource.id), [created.id]);

  // update, vread
  const updated = await client.update({
    resourceType: 'Patient',
    id: created.id,
    body: { ...read, birthDate: '1971-02-03' },
  });
  equal('update: version 2', updated.meta?.versionId, '2');
  const v1 = await client.vread({ resourceType: 'Patient', id: created.id, version: '1' });
  equal('vread: version 1 keeps the old birthDate', v1.birthDate, '1970-01-01');

  // patch (JSON Patch)
  const patched = await client.patch({
    resourceType: 'Patient',
    id: created.id,
    jsonPatch: [{ op: 'replace', path: '/birthDate', value: '1972-03-04' }],
  });
  const afterPatch = await client.read({ resourceType: 'Patient', id: created.id });
  equal('patch: the new birthDate is stored', afterPatch.birthDate, '1972-03-04');
  equal('patch: version 3', afterPatch.meta?.versionId, '3');
  check('patch: the response is the resource or an outcome',
        patched === undefined || patched === '' || patched.resourceType !== undefined,
        JSON.stringify(patched)?.slice(0, 200));

  // transaction: an Observation that refers to its Patient by urn:uuid
  const response = await client.transaction({
    body: {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:6c5d9f2e-0b1a-4e8f-9d3c-2a7b1c0e4f55',
          resource: { resourceType: 'Patient', name: [{ family: 'Transacted' }] },
          request: { method: 'POST', url: 'Patient' },
        },
        {
          resource: {
            resourceType: 'Observation',
            status: 'final',
            code: { coding: [{ system: 'http://loinc.org', code: '29463-7' }] },
            subject: { reference: 'urn:uuid:6c5d9f2e-0b1a-4e8f-9d3c-2a7b1c0e4f55' },
            valueQuantity: { value: 72.5, unit: 'kg', system: 'http://unitsofmeasure.org',
                             code: 'kg' },
          },
          request: { method: 'POST', url: 'Observation' },
        },
      ],
    },
  });
  equal('transaction: a transaction-response', response.type, 'transaction-response');
  equal('transaction: two created', response.entry?.map((e) => e.response?.status?.slice(0, 3)),
        ['201', '201']);
  const patientLocation = response.entry?.[0]?.response?.location ?? '';
  const observationLocation = response.entry?.[1]?.response?.location ?? '';
  const [, patientId] = patientLocation.split('/');
  const [, observationId] = observationLocation.split('/');
  const observation = await client.read({ resourceType: 'Observation', id: observationId });
  equal('transaction: the urn:uuid reference now names the Patient',
        observation.subject?.reference, `Patient/${patientId}`);
  const byPatient = await client.search({ resourceType: 'Observation',
                                          searchParams: { patient: patientId } });
  equal('search by the new reference', byPatient.entry?.map((e) => e.resource.id),
        [observationId]);

  // paging: _count=2 over three patients named alike
  for (const given of ['One', 'Two', 'Three'])
    await client.create({ resourceType: 'Patient',
                          body: { resourceType: 'Patient', name: [{ family: 'Paged',
                                                                     given: [given] }] } });
  const page1 = await client.search({ resourceType: 'Patient',
                                      searchParams: { family: 'paged', _count: 2 } });
  const page2 = await client.nextPage({ bundle: page1 });
  const paged = [...(page1.entry ?? []), ...(page2?.entry ?? [])]
    .map((e) => e.resource.name[0].given[0]);
  equal('paging: two pages hold the three in order of creation', paged, ['One', 'Two', 'Three']);

  // history
  const history = await client.history({ resourceType: 'Patient', id: created.id });
  equal('history: a history Bundle', history.type, 'history');
  equal('history: three versions, newest first',
        history.entry?.map((e) => e.resource?.meta?.versionId), ['3', '2', '1']);

  // delete
  await client.delete({ resourceType: 'Patient', id: created.id });
  equal('delete: a read is then 410 Gone',
        await statusOf(client.read({ resourceType: 'Patient', id: created.id })), 410);
  equal('an unknown id is 404',
        await statusOf(client.read({ resourceType: 'Patient', id: 'no-such-patient' })), 404);
  const old = await client.vread({ resourceType: 'Patient', id: created.id, version: '2' });
  equal('a deleted resource\'s versions still read', old.birthDate, '1971-02-03');

  // a scan: Binary + DocumentReference
  const bytes = Buffer.alloc(3000);
  for (let i = 0; i < bytes.length; i++)
    bytes[i] = (i * 7919) >> 3 & 0xff;
  const binary = await client.create({
    resourceType: 'Binary',
    body: { resourceType: 'Binary', contentType: 'application/pdf', data: bytes.toString('base64') },
  });
  check('Binary: the server gave an id', typeof binary.id === 'string' && binary.id.length > 0,
        binary.id);
  const binaryJson = await client.read({ resourceType: 'Binary', id: binary.id });
  equal('Binary read as FHIR JSON: its content type', binaryJson.contentType, 'application/pdf');
  check('Binary read as FHIR JSON: the same bytes in base64',
        binaryJson.data === bytes.toString('base64'), `${binaryJson.data?.length} base64 chars`);
  const raw = await fetch(`${baseUrl}/Binary/${binary.id}`, { headers: { Accept: '*/*' } });
  equal('Binary read raw: its content type', raw.headers.get('content-type'), 'application/pdf');
  const rawBytes = Buffer.from(await raw.arrayBuffer());
  check('Binary read raw: the same bytes', rawBytes.equals(bytes), `${rawBytes.length} bytes`);
  const range = await fetch(`${baseUrl}/Binary/${binary.id}`,
                            { headers: { Accept: '*/*', Range: 'bytes=100-199' } });
  equal('Binary range: 206 Partial Content', range.status, 206);
  check('Binary range: bytes 100 to 199',
        Buffer.from(await range.arrayBuffer()).equals(bytes.subarray(100, 200)));
  const doc = await client.create({
    resourceType: 'DocumentReference',
    body: {
      resourceType: 'DocumentReference',
      status: 'current',
      content: [{ attachment: { contentType: 'application/pdf', url: `Binary/${binary.id}` } }],
    },
  });
  equal('DocumentReference: the server filled in the size', doc.content?.[0]?.attachment?.size,
        bytes.length);
  equal('DocumentReference: and the SHA-1 hash', doc.content?.[0]?.attachment?.hash,
        createHash('sha1').update(bytes).digest('base64'));
} catch (error) {
  check('the client ran without an unexpected error', false, error?.stack ?? error);
} finally {
  clearTimeout(timer);
  stop();
  await new Promise((resolve) => (server.exitCode !== null ? resolve() : server.once('exit', resolve)));
  rmSync(dir, { recursive: true, force: true });
}

console.log(`1..${n}`);
process.exit(failed > 0 ? 1 : 0);
