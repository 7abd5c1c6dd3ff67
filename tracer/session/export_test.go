package session

// MaxHeader is the reader's limit on a header line, for the tests outside
// the package.
const MaxHeader = maxHeader
