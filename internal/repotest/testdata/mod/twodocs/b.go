// Package twodocs is documented here too.
package twodocs
