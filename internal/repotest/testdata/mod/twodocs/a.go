// Package twodocs is documented here.
package twodocs
