//! Encrypted fields (`#[attr(crypt)]`), byte-compatible with OneTable's `crypto`
//! option: AES-256-GCM with a random 16-byte IV, the key the SHA-256 of a password,
//! stored as `<key name>:<tag, base64>:<IV, hex>:<ciphertext, base64>`. Values are
//! encrypted with the key named `primary` (the one OneTable encrypts with) and
//! decrypted with the key their text names.

use onetable_core::{AttributeValue, EntitySchema, Error, ErrorKind, FieldSchema, Item};

/// A named encryption key for [`TableBuilder::crypto`](crate::TableBuilder::crypto).
#[derive(Clone)]
pub(crate) struct Key {
    name: String,
    #[cfg(feature = "crypt")]
    secret: [u8; 32],
}

impl Key {
    #[cfg(feature = "crypt")]
    pub(crate) fn is(&self, name: &str) -> bool {
        self.name == name
    }

    #[cfg(feature = "crypt")]
    pub(crate) fn from_password(name: &str, password: &str) -> Key {
        use sha2::Digest;
        Key { name: name.to_owned(), secret: sha2::Sha256::digest(password.as_bytes()).into() }
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret is never printed.
        f.debug_struct("Key").field("name", &self.name).finish_non_exhaustive()
    }
}

/// AES-256-GCM with OneTable's 16-byte IV (Node accepts any IV length for GCM).
#[cfg(feature = "crypt")]
type Cipher = aes_gcm::AesGcm<aes_gcm::aes::Aes256, aes_gcm::aead::consts::U16>;

/// The key a value is encrypted with.
#[cfg(feature = "crypt")]
const PRIMARY: &str = "primary";

fn crypt_error(entity: &'static str, field: &FieldSchema, message: impl Into<String>) -> Error {
    ErrorKind::Crypt { entity, field: field.name, message: message.into() }.into()
}

fn attr_mut<'i>(item: &'i mut Item, f: &FieldSchema) -> Option<&'i mut AttributeValue> {
    match f.map {
        Some(map) => match item.get_mut(map) {
            Some(AttributeValue::M(m)) => m.get_mut(f.attribute),
            _ => None,
        },
        None => item.get_mut(f.attribute),
    }
}

/// A table's keys (read only with the `crypt` feature).
#[derive(Clone, Debug, Default)]
#[cfg_attr(not(feature = "crypt"), allow(dead_code))]
pub(crate) struct Keys(pub Vec<Key>);

impl Keys {
    /// Encrypts the entity's `#[attr(crypt)]` fields of an item about to be written.
    pub(crate) fn encrypt_fields(&self, schema: &'static EntitySchema, item: &mut Item) -> Result<(), Error> {
        for f in schema.fields.iter().filter(|f| f.crypt) {
            if let Some(AttributeValue::S(text)) = attr_mut(item, f) {
                *text = self.encrypt(schema.name, f, text)?;
            }
        }
        Ok(())
    }

    /// Decrypts the entity's `#[attr(crypt)]` fields of an item read.
    pub(crate) fn decrypt_fields(&self, schema: &'static EntitySchema, item: &mut Item) -> Result<(), Error> {
        for f in schema.fields.iter().filter(|f| f.crypt) {
            if let Some(AttributeValue::S(text)) = attr_mut(item, f) {
                *text = self.decrypt(schema.name, f, text)?;
            }
        }
        Ok(())
    }

    /// A value of an encrypted field, as it is stored.
    pub(crate) fn encrypt(
        &self,
        entity: &'static str,
        field: &FieldSchema,
        text: &str,
    ) -> Result<String, Error> {
        // OneTable leaves empty text as it is.
        if text.is_empty() {
            return Ok(String::new());
        }
        #[cfg(feature = "crypt")]
        {
            use aes_gcm::aead::{AeadInPlace, KeyInit, OsRng};
            use aes_gcm::AeadCore;
            use base64::Engine;
            let Some(key) = self.0.iter().find(|k| k.name == PRIMARY) else {
                return Err(crypt_error(
                    entity,
                    field,
                    "the table has no `primary` key to encrypt with (TableBuilder::crypto)",
                ));
            };
            let cipher = Cipher::new((&key.secret).into());
            let iv = Cipher::generate_nonce(&mut OsRng);
            let mut data = text.as_bytes().to_vec();
            let tag = cipher
                .encrypt_in_place_detached(&iv, b"", &mut data)
                .map_err(|_| crypt_error(entity, field, "the value could not be encrypted"))?;
            let b64 = base64::engine::general_purpose::STANDARD;
            let hex: String = iv.iter().map(|b| format!("{b:02x}")).collect();
            Ok(format!("{}:{}:{hex}:{}", key.name, b64.encode(tag), b64.encode(&data)))
        }
        #[cfg(not(feature = "crypt"))]
        {
            Err(crypt_error(entity, field, "encrypted fields need onetable's `crypt` feature"))
        }
    }

    /// A stored value of an encrypted field, decrypted. Text that is not in the
    /// encrypted form is returned as it is, as OneTable does (a value written before
    /// the field was encrypted).
    pub(crate) fn decrypt(
        &self,
        entity: &'static str,
        field: &FieldSchema,
        text: &str,
    ) -> Result<String, Error> {
        let parts: Vec<&str> = text.split(':').collect();
        let [name, tag, iv, data] = parts[..] else { return Ok(text.to_owned()) };
        if [name, tag, iv, data].iter().any(|p| p.is_empty()) {
            return Ok(text.to_owned());
        }
        #[cfg(feature = "crypt")]
        {
            use aes_gcm::aead::{AeadInPlace, KeyInit};
            use base64::Engine;
            let Some(key) = self.0.iter().find(|k| k.name == name) else {
                return Err(crypt_error(
                    entity,
                    field,
                    format!("the value is encrypted with key `{name}`, which the table does not have"),
                ));
            };
            let b64 = base64::engine::general_purpose::STANDARD;
            let malformed = || crypt_error(entity, field, "the encrypted value is malformed");
            let iv: Vec<u8> = (0..iv.len())
                .step_by(2)
                .map(|i| iv.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
                .collect::<Option<_>>()
                .ok_or_else(malformed)?;
            let tag = b64.decode(tag).map_err(|_| malformed())?;
            let mut data = b64.decode(data).map_err(|_| malformed())?;
            if iv.len() != 16 || tag.len() != 16 {
                return Err(malformed());
            }
            let cipher = Cipher::new((&key.secret).into());
            cipher
                .decrypt_in_place_detached(iv.as_slice().into(), b"", &mut data, tag.as_slice().into())
                .map_err(|_| {
                    crypt_error(
                        entity,
                        field,
                        format!("key `{name}` does not decrypt the value (a wrong key or password)"),
                    )
                })?;
            String::from_utf8(data).map_err(|_| crypt_error(entity, field, "the decrypted value is not text"))
        }
        #[cfg(not(feature = "crypt"))]
        {
            let _ = name;
            Err(crypt_error(entity, field, "encrypted fields need onetable's `crypt` feature"))
        }
    }
}
