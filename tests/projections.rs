//! Typed projections against DynamoDB Local: reads return only the fields a
//! `#[derive(Projection)]` struct holds, asked of DynamoDB with a
//! `ProjectionExpression`, on every read operation.

mod common;

use common::Requests;
use onetable::{Collection, Entity, Projection};
use std::time::{Duration, SystemTime};

/// An article whose body is most of its size.
#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "AUTHOR#${author}", sk = "ARTICLE#${id}")]
#[index(name = "gs1", pk = "TOPIC#${topic}", sk = "ARTICLE#${id}", project = ["title", "views"])]
struct Article {
    id: String,
    author: String,
    topic: String,
    title: String,
    #[attr(rename = "txt")]
    body: String,
    #[attr(map = "meta")]
    tags: Vec<String>,
    #[attr(default)]
    views: u64,
    #[attr(crypt)]
    secret: String,
    #[attr(ttl)]
    expires: Option<SystemTime>,
}

/// What a list of articles shows: no body.
#[derive(Projection, Debug, Clone, PartialEq)]
#[projection(entity = Article)]
struct ArticleCard {
    id: String,
    title: String,
    tags: Vec<String>,
    views: u64,
    secret: String,
    expires: Option<SystemTime>,
}

/// What the topic index holds of an article.
#[derive(Projection, Debug, Clone, PartialEq)]
#[projection(entity = Article)]
struct ArticleTitle {
    title: String,
    views: u64,
}

/// The author of the articles in a partition.
#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "AUTHOR#${author}", sk = "AUTHOR")]
struct Author {
    author: String,
    name: String,
    biography: String,
}

#[derive(Projection, Debug, Clone, PartialEq)]
#[projection(entity = Author)]
struct AuthorName {
    name: String,
}

/// An author's page: each member read through a projection.
#[derive(Collection, Debug, PartialEq)]
enum Byline {
    Author(AuthorName),
    Article(ArticleTitle),
}

/// The same page with whole authors: the query reads whole items.
#[derive(Collection, Debug, PartialEq)]
enum AuthorPage {
    Author(Author),
    Article(ArticleTitle),
}

/// The same, the projected member declared first.
#[derive(Collection, Debug, PartialEq)]
enum ArticlesAndAuthor {
    Article(ArticleTitle),
    Author(Author),
}

fn article(author: &str, n: usize) -> Article {
    Article {
        id: format!("{n:03}"),
        author: author.into(),
        topic: "rust".into(),
        title: format!("Title {n}"),
        body: "lorem ipsum ".repeat(1_000),
        tags: vec!["a".into(), format!("t{n}")],
        views: n as u64,
        secret: format!("s{n}"),
        expires: None,
    }
}

fn card(a: &Article) -> ArticleCard {
    ArticleCard {
        id: a.id.clone(),
        title: a.title.clone(),
        tags: a.tags.clone(),
        views: a.views,
        secret: a.secret.clone(),
        expires: a.expires,
    }
}

async fn seeded(requests: &Requests, n: usize) -> (onetable::Table, Vec<Article>) {
    let table = common::table_with_client(requests.client(), |t| {
        t.entity::<Article>().entity::<Author>().crypto("primary", "pw").hide_expired(true)
    })
    .await;
    let articles: Vec<Article> = (0..n).map(|i| article("ann", i)).collect();
    let mut batch = table.batch_write();
    for a in &articles {
        batch = batch.put(a.clone());
    }
    batch.await.unwrap();
    let author = Author { author: "ann".into(), name: "Ann".into(), biography: "b".repeat(5_000) };
    table.model::<Author>().create(author).await.unwrap();
    (table, articles)
}

#[tokio::test]
async fn a_projection_reads_its_fields_and_dynamodb_sends_only_those() {
    let requests = Requests::default();
    let (table, articles) = seeded(&requests, 30).await;
    let articles_model = table.model::<Article>();

    // get: every field as the entity reads it (renamed, packed, encrypted, TTL).
    let got = articles_model.get(Article::key("ann", "007")).project::<ArticleCard>().await.unwrap();
    assert_eq!(got, Some(card(&articles[7])));
    let missing = articles_model.get(Article::key("ann", "999")).project::<ArticleCard>().await.unwrap();
    assert_eq!(missing, None);

    // find: the whole partition in pages, cursors carried by the projected items.
    requests.reset();
    let whole = articles_model.find(Article::partition("ann")).await.unwrap();
    let whole_bytes = requests.received();
    assert_eq!(whole.items, articles);
    requests.reset();
    let mut cards = Vec::new();
    let mut page =
        articles_model.find(Article::partition("ann")).project::<ArticleCard>().limit(7).await.unwrap();
    loop {
        cards.extend(page.items);
        let Some(next) = page.next else { break };
        page = articles_model
            .find(Article::partition("ann"))
            .project::<ArticleCard>()
            .limit(7)
            .next(next)
            .await
            .unwrap();
    }
    let projected_bytes = requests.received();
    assert_eq!(cards, articles.iter().map(card).collect::<Vec<_>>());
    // The bodies (12 KB each) are not sent: a small fraction of the bytes, in five pages.
    assert!(
        projected_bytes * 20 < whole_bytes,
        "projected pages {projected_bytes} B against whole items {whole_bytes} B"
    );

    // A page back through projected items.
    let third = articles_model
        .find(Article::partition("ann"))
        .project::<ArticleCard>()
        .limit(10)
        .next(articles_model.find(Article::partition("ann")).limit(20).await.unwrap().next.unwrap())
        .await
        .unwrap();
    let second = articles_model
        .find(Article::partition("ann"))
        .project::<ArticleCard>()
        .limit(10)
        .prev(third.prev.unwrap())
        .await
        .unwrap();
    assert_eq!(second.items, articles[10..20].iter().map(card).collect::<Vec<_>>());

    // stream, scan and get_many.
    use futures_util::TryStreamExt;
    let streamed: Vec<ArticleCard> = articles_model
        .find(Article::partition("ann"))
        .project::<ArticleCard>()
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed.len(), 30);
    requests.reset();
    let mut scanned = articles_model.scan().segments(2).project::<ArticleTitle>().await.unwrap();
    assert!(requests.received() * 20 < whole_bytes, "{} B", requests.received());
    scanned.sort_by_key(|t| t.views);
    assert_eq!(
        scanned,
        articles.iter().map(|a| ArticleTitle { title: a.title.clone(), views: a.views }).collect::<Vec<_>>()
    );
    let keys = [Article::key("ann", "003"), Article::key("ann", "nope"), Article::key("ann", "001")];
    let many = articles_model.get_many(keys).project::<ArticleCard>().await.unwrap();
    assert_eq!(many, vec![Some(card(&articles[3])), None, Some(card(&articles[1]))]);

    // The request names the attributes; the body's is not among them.
    let onetable::request::Request::GetItem(input) =
        articles_model.get(Article::key("ann", "001")).project::<ArticleCard>().request().unwrap()
    else {
        panic!("a get")
    };
    let names: Vec<&String> = input.expression_attribute_names().unwrap().values().collect();
    assert!(!names.iter().any(|n| *n == "txt"), "{names:?}");
    for needed in ["id", "title", "meta", "tags", "views", "secret", "expires", "_type", "pk", "sk"] {
        assert!(names.iter().any(|n| *n == needed), "{needed} in {names:?}");
    }
    assert!(input.projection_expression().unwrap().contains('.'), "a packed field is read by its path");
}

#[tokio::test]
async fn a_projection_reads_defaults_hides_expired_items_and_refuses_other_entities() {
    let requests = Requests::default();
    let (table, articles) = seeded(&requests, 3).await;
    let model = table.model::<Article>();

    // An item written without `views` (by another writer): the default is read.
    let mut item = model.to_item(&articles[0]).unwrap();
    item.remove("views");
    table.client().put_item().table_name(table.name()).set_item(Some(item)).send().await.unwrap();
    let got = model.get(Article::key("ann", "000")).project::<ArticleTitle>().await.unwrap().unwrap();
    assert_eq!(got.views, 0);

    // An expired item is hidden from a projection as from the entity.
    let mut expired = articles[1].clone();
    expired.expires = Some(SystemTime::now() - Duration::from_secs(60));
    model.put(expired).await.unwrap();
    assert_eq!(model.get(Article::key("ann", "001")).project::<ArticleCard>().await.unwrap(), None);
    let listed = model.find(Article::partition("ann")).project::<ArticleCard>().await.unwrap();
    assert_eq!(listed.items.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["000", "002"]);

    // The author's item under an article's key is not read as an article.
    let err = table
        .model::<Article>()
        .get(onetable::Key::new(Ok(table_key("AUTHOR#ann", "AUTHOR"))))
        .project::<ArticleTitle>()
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), onetable::ErrorKind::WrongEntity { .. }), "{err}");
}

fn table_key(pk: &str, sk: &str) -> onetable::Item {
    [
        ("pk".to_owned(), onetable::AttributeValue::S(pk.into())),
        ("sk".to_owned(), onetable::AttributeValue::S(sk.into())),
    ]
    .into()
}

#[tokio::test]
async fn an_index_holding_some_attributes_is_read_through_a_projection_of_them() {
    let requests = Requests::default();
    let (table, articles) = seeded(&requests, 12).await;
    let model = table.model::<Article>();
    let titles = model.find(Article::gs1_partition("rust")).project::<ArticleTitle>().await.unwrap();
    let expected: Vec<ArticleTitle> =
        articles.iter().map(|a| ArticleTitle { title: a.title.clone(), views: a.views }).collect();
    assert_eq!(titles.items, expected);
    assert_eq!(model.find(Article::gs1_partition("rust")).count().await.unwrap(), 12);

    // The whole entity, or a projection of fields the index does not hold, is refused
    // before any request, naming what is missing.
    requests.reset();
    let err = model.find(Article::gs1_partition("rust")).await.unwrap_err();
    assert!(err.to_string().contains("not whole Article items"), "{err}");
    let err = model.find(Article::gs1_partition("rust")).project::<ArticleCard>().await.unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("Article.id (attribute id)") && message.contains("Article.tags (attribute meta)"),
        "{message}"
    );
    assert!(!message.contains("Article.title"), "{message}");
    assert_eq!(requests.total(), 0);
}

#[tokio::test]
async fn a_collection_of_projections_reads_only_their_fields() {
    let requests = Requests::default();
    let (table, articles) = seeded(&requests, 5).await;
    requests.reset();
    let byline = table.collection::<Byline>().find(Author::partition("ann")).await.unwrap();
    let projected_bytes = requests.received();
    let mut expected = vec![Byline::Author(AuthorName { name: "Ann".into() })];
    expected.extend(
        articles.iter().map(|a| Byline::Article(ArticleTitle { title: a.title.clone(), views: a.views })),
    );
    // Sort keys: ARTICLE#… before AUTHOR.
    expected.rotate_left(1);
    assert_eq!(byline.items, expected);

    requests.reset();
    let page = table.collection::<AuthorPage>().find(Author::partition("ann")).await.unwrap();
    let whole_bytes = requests.received();
    assert!(matches!(&page.items[5], AuthorPage::Author(a) if a.biography.len() == 5_000));
    // Whichever order the members are declared in, one whole member reads whole items.
    let page = table.collection::<ArticlesAndAuthor>().find(Author::partition("ann")).await.unwrap();
    assert_eq!(page.items.len(), 6);
    assert!(matches!(&page.items[5], ArticlesAndAuthor::Author(a) if a.biography.len() == 5_000));
    assert!(projected_bytes * 20 < whole_bytes, "{projected_bytes} B against {whole_bytes} B");
}
