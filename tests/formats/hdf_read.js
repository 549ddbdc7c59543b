// Reads an HDF file with Heimdall's own parser (inspecjs) and prints what Heimdall would
// show: the number of controls and each control's status. Used by tests/formats.rs.
const fs = require('fs');
const inspecjs = require('inspecjs');

const text = fs.readFileSync(process.argv[2], 'utf8');
const converted = inspecjs.convertFile(text);
if (!converted['1_0_ExecJson']) {
  console.error('not read as exec JSON: ' + JSON.stringify(Object.keys(converted)));
  process.exit(1);
}
const evaluation = inspecjs.contextualizeEvaluation(converted['1_0_ExecJson']);
const statuses = {};
const severities = {};
let controls = 0;
for (const profile of evaluation.contains) {
  for (const control of profile.contains) {
    controls += 1;
    statuses[control.hdf.wraps.id] = control.hdf.status;
    severities[control.hdf.wraps.id] = control.hdf.severity;
  }
}
console.log(JSON.stringify({ controls, statuses, severities }));
