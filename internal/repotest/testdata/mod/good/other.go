// Copyright notice, kept apart from the package clause.

package good
