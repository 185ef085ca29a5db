// The reference benches/plan.sh measures the planner against: @apidevtools/swagger-parser
// reads one API description and dereferences every $ref (circular ones kept as cycles).
import SwaggerParser from "@apidevtools/swagger-parser";

const api = await SwaggerParser.dereference(process.argv[2]);
console.log(`${Object.keys(api.paths ?? {}).length} paths dereferenced`);
