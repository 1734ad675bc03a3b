package stevedore

// UnitTextForTest exposes unitText to the external tests.
var UnitTextForTest = unitText
