package event

// changeCache holds the JSON of the changes an encoder wrote last. Under
// churn a thread joins the same namespaces back and forth: its events'
// changes repeat, each a handful of numbers to format. A slot is found by
// comparing the values the change is made of, its container's included.
type changeCache = jsonSlots[changeKey]

// changeKey is every value Change.appendJSON writes.
type changeKey struct {
	c      Change    // its Container nil: compared by value below
	ctr    Container // its Pod nil: pods are not remembered
	hasCtr bool
}

// remembered reports whether c may be remembered: a pod's labels are a
// map, too dear to compare.
func remembered(ctr *Container) bool { return ctr == nil || ctr.Pod == nil }

// keyOf returns c's key; c must be remembered.
func keyOf(c *Change) changeKey {
	k := changeKey{c: *c}
	if c.Container != nil {
		k.c.Container, k.ctr, k.hasCtr = nil, *c.Container, true
	}
	return k
}

// matches reports whether k is c's key, comparing in place: making c's
// key to compare would copy more than is compared.
func (k *changeKey) matches(c *Change) bool {
	if k.c.Type != c.Type || k.c.Action != c.Action || k.c.From != c.From || k.c.To != c.To ||
		k.c.NsID != c.NsID || k.c.Host != c.Host || k.c.Owner != c.Owner || k.c.Name != c.Name {
		return false
	}
	if c.Container == nil {
		return !k.hasCtr
	}
	return k.hasCtr && k.ctr == *c.Container
}

// appendChange appends c as JSON, formatting it only when it is not
// remembered.
func (n *Numbers) appendChange(b []byte, c *Change) []byte {
	if n == nil || !remembered(c.Container) {
		return c.appendJSON(b, n)
	}
	return appendRemembered(&n.changes, b, c, keyOf, func(b []byte, c *Change) []byte { return c.appendJSON(b, n) })
}
