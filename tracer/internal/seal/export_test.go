package seal

// SealPrefix starts every seal line, for the tests outside the package.
var SealPrefix = sealPrefix
