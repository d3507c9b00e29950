/** `squint eval` as a library: load a suite, run it, build and render the report, compare two reports. */
export { parseChoice, matchText, normaliseText } from "./answers.js";
export { compareReports, formatComparison, loadReport } from "./compare.js";
export { PROMPT_TEMPLATES, promptTemplateHash, renderItemPrompt } from "./prompts.js";
export { buildReport, type EvalReport, formatReport, RANDOM_WEIGHTS_WARNING } from "./report.js";
export { renderReportHtml } from "./report-html.js";
export type { EvalKnobs, EvalMode, ItemRecord } from "./results-log.js";
export { type EvalRun, type RunEvalOptions, runEval } from "./runner.js";
export { type ImageFrame, scoreAnswer } from "./scoring.js";
export { mcnemarExact, pairedDifference, pairedTable, proportion, unpairedDifference, wilson } from "./stats.js";
export { loadSuite, type Suite, type SuiteItem, type Truth } from "./suite.js";
