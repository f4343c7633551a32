// This package does things.
package wrongdoc
