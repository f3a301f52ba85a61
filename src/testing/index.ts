/**
 * Public test-driver API (`import … from "eddy/testing"`): run processor test cases through the real
 * planner and runtime with virtual time, from `sp test` or from your own vitest/jest suite.
 */
export { runTestCase, type CaseResult, type RunCaseOptions } from "./driver.ts";
export {
  parseCases,
  DEFAULT_START,
  type Expectation,
  type HttpsStub,
  type TestCase,
  type TestStep,
  type TestStubs,
} from "./test-case.ts";
export {
  findTestFiles,
  loadTestFile,
  runTestFile,
  TestFileError,
  TEST_FILE_SUFFIX,
  type FileResult,
  type LoadedTestFile,
} from "./test-file.ts";
export { compareList, formatProblems, isSubset, RUNTIME_FIELDS, type ListProblem } from "./compare.ts";
export { UnstubbedRequestError, type StubbedRequest } from "./stubs.ts";
