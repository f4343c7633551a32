// Package nodoc is documented only in a test, which does not count.
package nodoc
